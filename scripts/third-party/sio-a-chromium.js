// sio-a: three students in headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core), each a page of sio-a-server.js that loads the socket.io
// client bundle the server serves (/socket.io/socket.io.min.js). Order: B
// (WebSocket only) joins "red"; A (default transports: long-polling, then the
// upgrade; also "/admin") takes the nick "ana" and joins "red"; C (long-polling
// only) joins "blue". Then A sends "hello everyone" (still long-polling: the server
// holds its upgrade), and over the WebSocket "hello red room", "psst, C" (no ack)
// and "hello admins". Heartbeats pass; every page disconnects.
//     node sio-a-chromium.js PORT
"use strict";
const path = require("path");
const { chromium } = require(path.join(__dirname, "../../tests/js/node_modules/playwright-core"));

const port = Number(process.argv[2]);
const url = `http://127.0.0.1:${port}/`;

async function student(browser, name, transports, admin) {
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (e) => console.error(name, "page error:", e.message));
  await page.goto(url);
  const id = await page.evaluate(([n, t, a]) => window.student(n, t, a), [name, transports, admin]);
  return { page, id };
}
const emitAck = (p, ev, arg) => p.evaluate(([e, a]) => window.me.emitWithAck(e, a), [ev, arg]);
const inbox = (p, n) => p.waitForFunction((k) => window.me.inbox.length + (window.adminSock ? window.adminSock.inbox.length : 0) >= k, n);

async function main() {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  try {
    const b = await student(browser, "B", ["websocket"], false);
    console.log("B", JSON.stringify(await emitAck(b.page, "join", "red")));
    const a = await student(browser, "A", null, true);
    await emitAck(a.page, "nick", "ana");
    console.log("A", JSON.stringify(await emitAck(a.page, "join", "red")), await a.page.evaluate(() => window.transportName()));
    const c = await student(browser, "C", ["polling"], false);
    console.log("C", JSON.stringify(await emitAck(c.page, "join", "blue")));

    console.log("A all", JSON.stringify(await emitAck(a.page, "chat message", { text: "hello everyone", to: "all" })),
      await a.page.evaluate(() => window.transportName()));
    await a.page.evaluate(() => window.upgraded());
    console.log("A upgraded:", await a.page.evaluate(() => window.transportName()));
    console.log("A red", JSON.stringify(await emitAck(a.page, "chat message", { text: "hello red room", to: "room:red" })));
    await a.page.evaluate((id) => window.me.emit("chat message", { text: "psst, C", to: `socket:${id}` }), c.id);
    console.log("A admins", JSON.stringify(await emitAck(a.page, "chat message", { text: "hello admins", to: "nsp:/admin" })));
    await Promise.all([inbox(a.page, 2), inbox(b.page, 2), inbox(c.page, 2)]);
    await a.page.waitForTimeout(1200); // heartbeats (pingInterval 500 ms)
    for (const s of [a, b, c]) {
      await s.page.evaluate(() => { if (window.adminSock) window.adminSock.disconnect(); window.me.disconnect(); });
    }
    await a.page.waitForTimeout(300);
    console.log("done");
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
