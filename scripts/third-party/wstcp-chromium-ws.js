// Headless Chromium (playwright-core) opens a WebSocket to a Node `ws`
// server with permessage-deflate on, sends small and large messages, closes.
//     node wstcp-chromium-ws.js PORT
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../tests/js/node_modules");
const WebSocket = require(path.join(nm, "ws"));
const { chromium } = require(path.join(nm, "playwright-core"));
const port = Number(process.argv[2]);

const wss = new WebSocket.WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: true });
wss.on("connection", (ws, req) => {
  console.log("offer:", req.headers["sec-websocket-extensions"]);
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});

async function main() {
  await new Promise((r) => wss.on("listening", r));
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await (await browser.newContext()).newPage();
    const got = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      const inbox = [];
      let waiting = null;
      ws.onmessage = (e) => { if (waiting) { const w = waiting; waiting = null; w(e.data); } else inbox.push(e.data); };
      const next = () => new Promise((r) => (inbox.length ? r(inbox.shift()) : (waiting = r)));
      await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
      const out = [ws.extensions];
      const big = "The quick brown fox jumps over the lazy dog. ".repeat(100);   // 4500 bytes
      for (const m of ["hi", JSON.stringify({ type: "join", room: "lab-7" }), big, "hi", "hi", "ok, bye"]) {
        ws.send(m);
        out.push((await next()).length);
      }
      await new Promise((r) => { ws.onclose = r; ws.close(1000, "done"); });
      return out;
    }, `ws://127.0.0.1:${port}/compress`);
    console.log("browser:", JSON.stringify(got));
  } finally {
    await browser.close();
    wss.close();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
