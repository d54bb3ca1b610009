// sio-b: two socket.io-client clients on the official server, the
// missed-events story told in another shape than wirelab's scenario:
//   B (default transports: polling, then upgrades to WebSocket) connects FIRST
//   and joins "news"; A (polling only, never upgrades) connects second.
//   A sends "before B left" to everyone. B's transport is killed
//   (b.io.engine.close(): its WebSocket closes, no Socket.IO DISCONNECT), so
//   the Manager reconnects it on its own after 1 s. Meanwhile A sends
//   "sent while B was away (1)", "(2)" to everyone and "news while B was away"
//   to the room "news". B's reconnect carries pid+offset when the server gave
//   it a pid (connectionStateRecovery), and the server replays what it missed.
//     node sio-b-clients.js PORT
"use strict";
const path = require("node:path");
const { io } = require(path.join(__dirname, "../../tests/js/node_modules/socket.io-client"));

const port = Number(process.argv[2]);
const url = `http://127.0.0.1:${port}`;
const log = (...a) => console.log(...a);
const fail = (m) => { console.error(`sio-b-clients: ${m}`); process.exit(1); };
const timeout = setTimeout(() => fail("timed out"), 15000);

function once(emitter, ev) {
  return new Promise((r) => emitter.once(ev, (...a) => r(a)));
}
function received(list, pred, n = 1) {
  return new Promise((resolve) => {
    const check = () => (list.filter(pred).length >= n ? resolve() : setTimeout(check, 10));
    check();
  });
}

(async () => {
  // B first: default transports, fixed reconnection delay.
  const b = io(url, { forceNew: true, reconnectionDelay: 1000, randomizationFactor: 0 });
  const bGot = [];
  let phase = "first";
  b.on("chat message", (m, ...rest) => { bGot.push({ phase, text: m.text, rest }); log(`B got (${phase}): ${m.text} ${rest.join(" ")}`); });
  await once(b, "connect");
  if (b.io.engine.transport.name !== "websocket") await once(b.io.engine, "upgrade");
  log(`B connected ${b.id}, upgraded to ${b.io.engine.transport.name}`);
  log("B join:", JSON.stringify(await b.emitWithAck("join", "news")));

  // A second: long-polling only.
  const a = io(url, { forceNew: true, transports: ["polling"] });
  const aGot = [];
  a.on("chat message", (m, ...rest) => { aGot.push(m.text); log(`A got: ${m.text} ${rest.join(" ")}`); });
  await once(a, "connect");
  log(`A connected ${a.id} on ${a.io.engine.transport.name}`);

  log("A ack:", JSON.stringify(await a.emitWithAck("chat message", { text: "before B left", to: "all" })));
  await received(bGot, (x) => x.text === "before B left");
  await received(aGot, (t) => t === "before B left");

  // Kill B's transport: the Manager sees "transport close" and reconnects.
  let reconnected = false;
  b.io.once("reconnect", () => { reconnected = true; });
  b.io.engine.close();
  phase = "again";
  // wait until the server has seen B go (an ack, never stored for recovery)
  while ((await a.emitWithAck("online")) !== 1) await new Promise((r) => setTimeout(r, 20));
  for (const [text, to] of [["sent while B was away (1)", "all"], ["sent while B was away (2)", "all"], ["news while B was away", "room:news"]]) {
    log("A ack:", JSON.stringify(await a.emitWithAck("chat message", { text, to })));
  }
  if (reconnected) fail("B reconnected before A had sent its messages");

  await once(b, "connect");
  log(`B connected again ${b.id} recovered=${b.recovered}`);
  if (!b.recovered) log("B join again:", JSON.stringify(await b.emitWithAck("join", "news")));
  // a round trip on B's new connection: every replayed packet precedes its answer
  await b.emitWithAck("online");
  if (b.recovered) await received(bGot, (x) => x.phase === "again", 3);
  log(`B received while/after away: ${JSON.stringify(bGot.filter((x) => x.phase === "again").map((x) => x.text))}`);
  if (b.io.engine.transport.name !== "websocket") await once(b.io.engine, "upgrade");

  a.disconnect();
  b.disconnect();
  clearTimeout(timeout);
  setTimeout(() => process.exit(0), 200);
})();
