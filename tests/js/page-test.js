// The chat page in a real browser (Debian's headless Chromium, driven by
// playwright-core): two students, a room, delivered / acknowledged / missed.
//     node page-test.js PORT RECOVERY(0|1) [SCREENSHOT.png]
// With CHAT_TLS=1 the page is https://localhost:PORT/ (the chat's
// self-signed certificate, which the test accepts as a student would).
"use strict";
const { chromium } = require("playwright-core");
const assert = require("node:assert/strict");

const [port, rec, shot] = process.argv.slice(2);
const recovery = rec === "1";
const tls = process.env.CHAT_TLS === "1";
const url = tls ? `https://localhost:${port}/` : `http://127.0.0.1:${port}/`;

async function student(browser, name) {
  const page = await (await browser.newContext({ ignoreHTTPSErrors: tls })).newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("connected"));
  await page.fill("#nick", name);
  await page.dispatchEvent("#nick", "change");
  await page.fill("#room", "lobby");
  await page.click("#join");
  await page.waitForFunction(() => document.getElementById("rooms").textContent.includes("lobby"));
  return { page, errors };
}

async function send(page, text, to) {
  await page.selectOption("#to", to);
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

const lastState = (page, text) =>
  page.evaluate((t) => {
    const li = [...document.querySelectorAll("#messages li.mine")].find((l) => l.textContent.includes(t));
    return li ? li.dataset.state : null;
  }, text);

async function main() {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  try {
    const a = await student(browser, "ana");
    const b = await student(browser, "ben");

    await send(a.page, "hello lobby", "room+self:");
    await a.page.waitForFunction(() => [...document.querySelectorAll("#messages li.mine")].some((l) => l.dataset.state === "delivered"));
    await b.page.waitForSelector("#messages li:has-text('hello lobby')");
    assert.match(await b.page.textContent("#messages"), /ana → room\+self:lobby/);
    console.log("ok - a room message with the sender: delivered to both, the sender's copy marked delivered");

    await send(a.page, "to the others", "others");
    await b.page.waitForSelector("#messages li:has-text('to the others')");
    await a.page.waitForFunction(() => [...document.querySelectorAll("#messages li.mine")].some((l) => l.textContent.includes("to the others") && l.dataset.state === "acknowledged"));
    console.log("ok - a broadcast to the others: acknowledged for the sender, received by the other");

    await send(a.page, "x", "rooms:");
    await a.page.fill("#room", "");
    await send(a.page, "bad target", "room:");
    await a.page.waitForFunction(() => [...document.querySelectorAll("#messages li.mine")].some((l) => l.dataset.state === "refused"));
    console.log("ok - a refused message shows the server's error");

    // Missed events: ben goes away, ana talks, ben comes back.
    await b.page.click("#toggle");
    await b.page.waitForFunction(() => document.getElementById("status").textContent.startsWith("disconnected"));
    await send(a.page, "while ben was away", "all");
    // Wait until the server has taken it (its ack, or its copy back to ana).
    await a.page.waitForFunction(() => [...document.querySelectorAll("#messages li.mine")].some((l) => l.textContent.includes("while ben was away") && ["acknowledged", "delivered"].includes(l.dataset.state)));
    await b.page.click("#toggle");
    await b.page.waitForSelector("#messages li.missed");
    const missedLine = await b.page.textContent("#messages li.missed");
    if (recovery) {
      await b.page.waitForSelector("#messages li.recovered:has-text('while ben was away')");
      assert.match(missedLine, /replays/);
      console.log("ok - recovery on: the missed message is replayed and marked recovered");
    } else {
      assert.match(missedLine, /missed/);
      assert.equal(await b.page.locator("#messages li:has-text('while ben was away')").count(), 0);
      console.log("ok - recovery off: the page says messages were missed, and the message never arrives");
    }
    const rooms = await b.page.textContent("#rooms");
    assert.equal(rooms.split(",").length, 2, `the new id room and lobby only: ${rooms}`);
    if (shot) await b.page.screenshot({ path: shot });
    assert.deepEqual([...a.errors, ...b.errors], []);
    console.log("all page checks passed");
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`not ok - ${e.message}`);
  process.exit(1);
});
