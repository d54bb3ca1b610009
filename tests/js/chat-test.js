// Drives the wirelab chat demo with the official npm socket.io-client and
// checks its fixed API (assets/chat/API.md): rooms, namespaces, every `to`
// of the emit cheatsheet, acks, private messages, reserved names, and missed
// events with or without the server's recovery log.
//     node chat-test.js PORT RECOVERY(0|1)
// Prints one line per check; exits 1 on the first failure.
"use strict";
const { io } = require("socket.io-client");
const assert = require("node:assert/strict");

const port = Number(process.argv[2]);
const recovery = process.argv[3] === "1";
const url = `http://127.0.0.1:${port}`;
const { sleep, waitFor } = require("./wait");
// A barrier: an acked request from each client. The server queues a message
// to every recipient before it acks the sender, and answers each client in
// order, so once a client has this ack it has every message sent before.
const settle = (...cs) => Promise.all(cs.map((c) => c.s.emitWithAck("leave", "~no-such-room")));
let checks = 0;
function ok(what) {
  checks++;
  console.log(`ok ${checks} - ${what}`);
}

function client(name, nsp = "/", opts = {}, manager = null) {
  const inbox = [];
  const s = manager ? manager.socket(nsp, opts) : io(url + nsp, { forceNew: true, reconnection: false, ...opts });
  const c = { name, s, inbox, welcome: null, errors: [] };
  s.on("chat message", (m) => inbox.push(m));
  s.on("welcome", (w) => (c.welcome = w));
  s.on("chat error", (e) => c.errors.push(e));
  return new Promise((resolve, reject) => {
    s.once("connect", async () => {
      try {
        await waitFor(() => c.welcome, `${name}'s welcome event`);
        resolve(c);
      } catch (e) {
        reject(e);
      }
    });
    s.once("connect_error", (e) => reject(new Error(`${name}: ${e.message}`)));
  });
}

const texts = (c) => c.inbox.map((m) => m.text);
function clear(...cs) {
  for (const c of cs) c.inbox.length = 0;
}

async function main() {
  // Three transports: polling then upgrade (the default), WebSocket only, polling only.
  const a = await client("A");
  const b = await client("B", "/", { transports: ["websocket"] });
  const c = await client("C", "/", { transports: ["polling"] });
  // D: the /admin namespace multiplexed over A's connection.
  const d = await client("D", "/admin", {}, a.s.io);
  assert.equal(a.welcome.nsp, "/");
  assert.equal(d.welcome.nsp, "/admin");
  assert.equal(a.welcome.recovery, recovery);
  assert.ok(a.welcome.rooms.includes(a.s.id), "own id room");
  ok("connect: welcome with id, namespace, recovery flag, own id room");
  await waitFor(() => a.s.io.engine.transport.name === "websocket", "A's upgrade to WebSocket");
  assert.equal(a.s.io.engine.transport.name, "websocket");
  assert.equal(c.s.io.engine.transport.name, "polling");
  ok("A upgraded from polling to websocket, C stays on polling");

  const ra = await a.s.emitWithAck("join", "r1");
  assert.deepEqual(ra.rooms, [a.s.id, "r1"].sort());
  await b.s.emitWithAck("join", "r1");
  const rc = await c.s.emitWithAck("join", "r2");
  assert.deepEqual(rc.rooms, [c.s.id, "r2"].sort());
  ok("join acks list the rooms, own id included");
  const n = await a.s.emitWithAck("nick", "alice");
  assert.deepEqual(n, { ok: true, nick: "alice" });
  const badNick = await a.s.emitWithAck("nick", "");
  assert.equal(badNick.ok, false);
  ok("nick");

  const cases = [
    ["all", ["A", "B", "C"]],
    ["others", ["B", "C"]],
    ["self", ["A"]],
    ["room:r1", ["B"]],
    ["room+self:r1", ["A", "B"]],
    ["rooms:r1,r2", ["B", "C"]],
    [`socket:${c.s.id}`, ["C"]],
    ["nsp:/admin", ["D"]],
    ["volatile", ["A", "B", "C"]],
    ["uncompressed", ["A", "B", "C"]],
  ];
  let lastOffset = 0;
  const offsets = {};
  for (const [to, want] of cases) {
    clear(a, b, c, d);
    const text = `to ${to}`;
    const ack = await a.s.emitWithAck("chat message", { text, to });
    assert.equal(ack.ok, true, `${to}: ${JSON.stringify(ack)}`);
    const nsp = to.startsWith("nsp:") ? "/admin" : "/";
    assert.ok(ack.offset > (offsets[nsp] || 0), `${to}: offsets increase per namespace`);
    offsets[nsp] = ack.offset;
    await settle(a, b, c, d);
    const got = [a, b, c, d].filter((x) => texts(x).includes(text)).map((x) => x.name);
    assert.deepEqual(got, want, `to=${to}: delivered to ${got}, expected ${want}`);
    const m = [a, b, c, d].find((x) => texts(x).includes(text)).inbox.find((m) => m.text === text);
    assert.deepEqual(m, { from: a.s.id, nick: "alice", text, to, offset: ack.offset, node: a.welcome.node });
    for (const x of [a, b, c, d]) assert.ok(texts(x).filter((t) => t === text).length <= 1, `${to}: at most once`);
    ok(`to "${to}" reaches ${want.join(",")} (offset ${ack.offset})`);
    if (nsp === "/") lastOffset = ack.offset;
  }
  assert.equal(offsets["/admin"], d.welcome.offset + 1, "the /admin namespace counts its own offsets");

  const bad = await a.s.emitWithAck("chat message", { text: "x", to: "everyone" });
  assert.equal(bad.ok, false);
  assert.match(bad.error, /not a target/);
  const noText = await a.s.emitWithAck("chat message", { to: "all" });
  assert.equal(noText.ok, false);
  ok("a bad `to` or a message without text gets {ok:false, error}");

  // Reserved names: the client library refuses them itself...
  assert.throws(() => a.s.emit("disconnecting", "x"), /reserved/);
  // ...and the server refuses them too when they arrive on the wire anyway.
  // Engine.IO adds its own "4" (message); "2" is Socket.IO's EVENT in namespace "/".
  a.s.io.engine.send('2["disconnecting","x"]');
  const unknown = await a.s.emitWithAck("no such event", 1);
  assert.equal(unknown.ok, false);
  await waitFor(() => a.errors.some((e) => e.event === "disconnecting"), 'the "chat error" for "disconnecting"');
  // The server runs each event's handler as its own task, so the two
  // "chat error"s may arrive in either order.
  const reserved = a.errors.find((e) => e.event === "disconnecting");
  assert.ok(reserved, `a "chat error" for "disconnecting" (got ${JSON.stringify(a.errors)})`);
  assert.match(reserved.error, /reserved/);
  ok("reserved event names are refused with an error the client sees");

  const lb = await b.s.emitWithAck("leave", "r1");
  assert.deepEqual(lb.rooms, [b.s.id]);
  ok("leave");

  // Missed events: C goes away; four messages are sent that C would have
  // received (three to everyone, one to its room r2) and one it would not.
  const cId = c.s.id;
  const seen = Math.max(...c.inbox.map((m) => m.offset), c.welcome.offset);
  c.s.disconnect();
  // The server learns of it from C's disconnect packet: ask until it knows.
  let gone;
  await waitFor(async () => {
    gone = await a.s.emitWithAck("chat message", { text: "private to gone C", to: `socket:${cId}` });
    return gone.ok === false;
  }, "the server to forget the disconnected C");
  ok("a disconnected socket is gone (its id room too)");
  const missed = [];
  for (const [text, to] of [["m1", "all"], ["m2", "room:r2"], ["m3", "others"], ["not for C", "room:r1"], ["m4", "all"]]) {
    const ack = await a.s.emitWithAck("chat message", { text, to });
    if (text !== "not for C") missed.push(ack.offset);
  }
  const c2 = await client("C2", "/", { auth: { offset: seen, rooms: ["r2"] } });
  // The welcome says how many it replays; wait for those, then for anything more.
  await waitFor(() => c2.inbox.length >= c2.welcome.replayed, `the ${c2.welcome.replayed} replayed messages`);
  await settle(c2);
  assert.ok(c2.welcome.offset >= missed[missed.length - 1]);
  assert.ok(c2.welcome.rooms.includes("r2"), "rejoined r2");
  if (recovery) {
    assert.deepEqual(texts(c2), ["m1", "m2", "m3", "m4"]);
    assert.deepEqual(c2.inbox.map((m) => m.offset), missed);
    assert.ok(c2.inbox.every((m) => m.recovered === true));
    assert.equal(c2.welcome.replayed, 4);
    ok("recovery on: the reconnecting client got exactly the 4 messages it missed, in order, once");
  } else {
    assert.deepEqual(texts(c2), []);
    assert.equal(c2.welcome.replayed, 0);
    ok("recovery off: the 4 messages sent while C was away are missed (welcome.offset shows the gap)");
  }
  clear(c2);
  await a.s.emitWithAck("chat message", { text: "live", to: "room:r2" });
  await settle(c2);
  assert.deepEqual(texts(c2), ["live"]);
  ok("after reconnecting, new messages arrive live, once");

  for (const x of [a, b, c2]) x.s.disconnect();
  console.log(`all ${checks} checks passed (recovery ${recovery ? "on" : "off"})`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`not ok - ${e.message}`);
    process.exit(1);
  },
);
