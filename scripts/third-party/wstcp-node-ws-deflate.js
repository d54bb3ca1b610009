// Node `ws` server and client with permessage-deflate (threshold 0, the
// server without context takeover): the client sends one large compressible
// message in three fragments, a smaller unfragmented one, the same 200-byte
// text twice; the server echoes (a receipt for the large one); the client closes.
//     node wstcp-node-ws-deflate.js PORT
"use strict";
const path = require("path");
const WebSocket = require(path.join(__dirname, "../../tests/js/node_modules/ws"));
const port = Number(process.argv[2]);

const wss = new WebSocket.WebSocketServer({
  host: "127.0.0.1", port, perMessageDeflate: { threshold: 0, serverNoContextTakeover: true },
});
// Echoes, except that a message over 6000 bytes gets a short receipt instead.
wss.on("connection", (ws) => ws.on("message", (d, bin) =>
  ws.send(d.length > 6000 ? `received ${d.length} bytes` : d, { binary: bin && d.length <= 6000 })));

wss.on("listening", () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/deflate`, { perMessageDeflate: { threshold: 0 } });
  const queue = [];
  let waiting = null;
  ws.on("message", (d) => { if (waiting) { const w = waiting; waiting = null; w(d); } else queue.push(d); });
  const next = () => new Promise((r) => (queue.length ? r(queue.shift()) : (waiting = r)));
  ws.on("open", async () => {
    ws.send("small one first");
    await next();
    const part = (c) => `${c} lorem ipsum dolor sit amet, `.repeat(100);     // 3000 bytes each
    ws.send(part("A"), { fin: false });
    ws.send(part("B"), { fin: false });
    ws.send(part("C"), { fin: true });                    // one 9000-byte message
    console.log("receipt:", String(await next()));
    ws.send("z".repeat(5000));                            // largest single frame
    await next();
    const t = "same text ".repeat(20);                   // 200 bytes, twice
    ws.send(t); await next();
    ws.send(t); await next();
    ws.close(1000, "finished");
  });
  ws.on("close", (code) => { console.log(`closed ${code}`); wss.close(); });
});
