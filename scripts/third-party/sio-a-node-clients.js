// sio-a: three npm socket.io-client clients against sio-a-server.js, in another
// order than wirelab's chat-rooms scenario: C (long-polling only, never upgrades)
// connects first and joins "blue"; B (WebSocket only) joins "red"; A (the default:
// long-polling, then the upgrade) connects to "/" and "/admin", takes the nick
// "ana", joins "red" and sends "hello everyone" while still long-polling (the
// server holds its upgrade), then, on the WebSocket, "hello red room", "psst, C"
// (without ack) and "hello admins". Heartbeats pass (pingInterval 500 ms), then
// everyone disconnects.
//     node sio-a-node-clients.js PORT
"use strict";
const path = require("path");
const { io, Manager } = require(path.join(__dirname, "../../tests/js/node_modules/socket.io-client"));

const port = Number(process.argv[2]);
const url = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function watch(name, s) {
  s.inbox = [];
  s.on("welcome", (w, ack) => { if (ack) ack({ thanks: name }); });
  s.on("chat message", (m) => s.inbox.push(m.text));
  return s;
}
const connected = (s) => new Promise((r) => (s.connected ? r() : s.once("connect", r)));
async function until(what, f) {
  for (let i = 0; i < 200; i++) {
    if (f()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

(async () => {
  const c = watch("C", io(url, { transports: ["polling"], forceNew: true }));
  await connected(c);
  console.log("C", JSON.stringify(await c.emitWithAck("join", "blue")));

  const b = watch("B", io(url, { transports: ["websocket"], forceNew: true }));
  await connected(b);
  console.log("B", JSON.stringify(await b.emitWithAck("join", "red")));

  const m = new Manager(url);
  const a = watch("A", m.socket("/"));
  const admin = watch("A/admin", m.socket("/admin"));
  await Promise.all([connected(a), connected(admin)]);
  await a.emitWithAck("nick", "ana");
  console.log("A", JSON.stringify(await a.emitWithAck("join", "red")), m.engine.transport.name);
  console.log("A all", JSON.stringify(await a.emitWithAck("chat message", { text: "hello everyone", to: "all" })), m.engine.transport.name);

  if (m.engine.transport.name !== "websocket") await new Promise((r) => m.engine.once("upgrade", r));
  console.log("A upgraded:", m.engine.transport.name);
  console.log("A red", JSON.stringify(await a.emitWithAck("chat message", { text: "hello red room", to: "room:red" })));
  a.emit("chat message", { text: "psst, C", to: `socket:${c.id}` });
  console.log("A admins", JSON.stringify(await a.emitWithAck("chat message", { text: "hello admins", to: "nsp:/admin" })));

  await until("every delivery", () => a.inbox.length >= 1 && admin.inbox.length >= 1 && b.inbox.length >= 2 && c.inbox.length >= 2);
  console.log("got: A", a.inbox, "A/admin", admin.inbox, "B", b.inbox, "C", c.inbox);
  await sleep(1200); // a few heartbeats (pingInterval 500 ms)
  admin.disconnect();
  a.disconnect();
  b.disconnect();
  c.disconnect();
  await sleep(300);
  console.log("done");
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
