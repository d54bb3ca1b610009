// A Node `ws` echo server and `ws` client on loopback, no compression.
//     node wstcp-node-ws.js PORT
// The server greets first and pings the client; the client sends text,
// binary, a 200-byte text (16-bit length), a 70,000-byte binary (64-bit
// length), one message in three fragments, pings the server; the server
// closes with 1001 and a reason.
"use strict";
const path = require("path");
const WebSocket = require(path.join(__dirname, "../../tests/js/node_modules/ws"));
const port = Number(process.argv[2]);

const wss = new WebSocket.WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false });
wss.on("connection", (ws) => {
  ws.send("welcome, student");
  ws.on("message", (data, isBinary) => {
    if (!isBinary && data.toString() === "please close") {
      ws.close(1001, "server going away");
      return;
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on("pong", () => {});
});

wss.on("listening", () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/lesson?room=7`, { perMessageDeflate: false });
  const queue = [];
  let waiting = null;
  ws.on("message", (d) => { if (waiting) { const w = waiting; waiting = null; w(d); } else queue.push(d); });
  const next = () => new Promise((r) => (queue.length ? r(queue.shift()) : (waiting = r)));
  ws.on("open", async () => {
    await next();                                   // the greeting
    // The server pings the client; the client's pong is automatic (masked).
    await new Promise((r) => { ws.once("ping", r); wss.clients.forEach((c) => c.ping("server ping")); });
    ws.send("short text");
    await next();
    ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]));
    await next();
    ws.send("m".repeat(200));                       // 16-bit length
    await next();
    ws.send(Buffer.alloc(70000, 0x42));             // 64-bit length
    await next();
    ws.send("frag", { fin: false });                // one message, three frames
    ws.send("ment", { fin: false });
    ws.send("ed", { fin: true });
    await next();
    await new Promise((r) => { ws.once("pong", r); ws.ping("are you alive?"); });
    ws.send("please close");
  });
  ws.on("close", (code, reason) => {
    console.log(`closed ${code} ${reason}`);
    wss.close();
  });
});
