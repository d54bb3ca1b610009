// Waiting for an event, not for a time, for the test scripts here.
"use strict";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Waits for a condition (an event seen), not for a time; a generous bound
// turns a stall into a failure that says what never happened.
async function waitFor(cond, what, ms = 15000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`waited ${ms / 1000} s for ${what}`);
    await sleep(10);
  }
}
module.exports = { sleep, waitFor };
