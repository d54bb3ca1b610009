// Two wirelab chat nodes joined through one Redis server, driven by the
// official npm socket.io-client over WebSocket: what crosses from one node to
// the other (a broadcast, a room, a private message) and what does not
// (`to: "local"`, socket.io's io.local.emit).
//     node two-nodes-test.js PORT_A PORT_B MODE
// MODE "cross": both nodes reach each other through Redis.
// MODE "down": Redis is gone; node A still serves its own clients and says
//              that the message stayed on this node.
// Prints one line per check; exits 1 on the first failure.
"use strict";
const { io } = require("socket.io-client");
const assert = require("node:assert/strict");

const [portA, portB] = [Number(process.argv[2]), Number(process.argv[3])];
const mode = process.argv[4] || "cross";
const { waitFor } = require("./wait");
let checks = 0;
function ok(what) {
  checks++;
  console.log(`ok ${checks} - ${what}`);
}

function client(name, port) {
  const inbox = [];
  const s = io(`http://127.0.0.1:${port}/`, { forceNew: true, reconnection: false, transports: ["websocket"] });
  const c = { name, s, inbox, welcome: null };
  s.on("chat message", (m) => inbox.push(m));
  s.on("welcome", (w) => (c.welcome = w));
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
const has = (c, text) => c.inbox.some((m) => m.text === text);
const got = (c, text) => c.inbox.find((m) => m.text === text);

async function cross() {
  const a1 = await client("A1", portA);
  const a2 = await client("A2", portA);
  const b1 = await client("B1", portB);
  assert.ok(a1.welcome.node && b1.welcome.node, "welcome names the node");
  assert.equal(a1.welcome.node, a2.welcome.node);
  assert.notEqual(a1.welcome.node, b1.welcome.node);
  ok(`welcome names the node: A is ${a1.welcome.node}, B is ${b1.welcome.node}`);

  // A broadcast from node A reaches the clients of both nodes, with the
  // sender's node in the payload (it crosses Redis unchanged).
  let ack = await a1.s.emitWithAck("chat message", { text: "hello both", to: "all" });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  await waitFor(() => has(b1, "hello both") && has(a2, "hello both") && has(a1, "hello both"), "hello both everywhere");
  assert.equal(got(b1, "hello both").node, a1.welcome.node);
  ok("a broadcast on A reaches A1, A2 and B1; B1 sees node A in it");

  // `local`: this node only. The next broadcast is a barrier: Redis delivers
  // a node's publications in order, so once B1 has it, it has everything A
  // sent before.
  ack = await a1.s.emitWithAck("chat message", { text: "only on A", to: "local" });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  await a1.s.emitWithAck("chat message", { text: "barrier 1", to: "all" });
  await waitFor(() => has(b1, "barrier 1") && has(a2, "only on A"), "barrier 1 on B1, the local message on A2");
  assert.ok(!has(b1, "only on A"), "the local message crossed to node B");
  ok('to "local" reaches A1 and A2, not B1');

  // A room joined on B gets a message emitted on A.
  const j = await b1.s.emitWithAck("join", "lab");
  assert.ok(j.rooms.includes("lab"));
  ack = await a1.s.emitWithAck("chat message", { text: "to the lab room", to: "room:lab" });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  await waitFor(() => has(b1, "to the lab room"), "the room message on B1");
  await a1.s.emitWithAck("chat message", { text: "barrier 2", to: "all" });
  await waitFor(() => has(a2, "barrier 2"), "barrier 2 on A2");
  assert.ok(!has(a2, "to the lab room"), "A2 is not in the room");
  ok("a room joined on B gets a message emitted on A, and only the room");

  // A private message to a socket on the other node.
  ack = await a1.s.emitWithAck("chat message", { text: "just you", to: `socket:${b1.s.id}` });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  await waitFor(() => has(b1, "just you"), "the private message on B1");
  ack = await a1.s.emitWithAck("chat message", { text: "nobody", to: "socket:no-such-socket" });
  assert.equal(ack.ok, false);
  ok("a private message reaches a socket on the other node; an unknown socket is refused");

  // And the other way round: B to A.
  ack = await b1.s.emitWithAck("chat message", { text: "from B", to: "others" });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  await waitFor(() => has(a1, "from B") && has(a2, "from B"), "B's message on A1 and A2");
  assert.equal(got(a1, "from B").node, b1.welcome.node);
  ok("a broadcast on B reaches A's clients");
  for (const c of [a1, a2, b1]) c.s.close();
}

async function down() {
  const a1 = await client("A1", portA);
  const a2 = await client("A2", portA);
  // A node that waited for Redis forever would never answer: 10 s at most.
  const ack = await a1.s.timeout(10000).emitWithAck("chat message", { text: "redis is gone", to: "all" });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  assert.match(ack.warning || "", /this node only/);
  await waitFor(() => has(a2, "redis is gone") && has(a1, "redis is gone"), "the message on A's own clients");
  ok("Redis down: node A still delivers to its own clients, and the ack says the message stayed on this node");
  for (const c of [a1, a2]) c.s.close();
}

(mode === "down" ? down() : cross()).then(
  () => {
    console.log(`all ${checks} checks passed`);
    process.exit(0);
  },
  (e) => {
    console.error(`FAILED after ${checks} checks: ${e.stack || e}`);
    process.exit(1);
  },
);
