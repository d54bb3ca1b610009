// Fan-out load generator: CLIENTS socket.io-client connections join room
// "bench"; one more client sends MESSAGES chat messages to "room:bench";
// reports how fast the server delivered them to every member.
//     node fanout-load.js PORT[,PORT…] CLIENTS MESSAGES
// With several ports (chat nodes joined through Redis), the clients are dealt
// to them in turn and the sender connects to the first.
// Prints one JSON line: {"clients","messages","deliveries","seconds","per_second"}.
"use strict";
const { io } = require("socket.io-client");
const ports = String(process.argv[2]).split(",").map(Number);
const [nClients, nMessages] = process.argv.slice(3).map(Number);
const urlOf = (i) => `http://127.0.0.1:${ports[i % ports.length]}`;
const opts = { transports: ["websocket"], forceNew: true, reconnection: false };

async function main() {
  let received = 0;
  const want = nClients * nMessages;
  let done;
  const finished = new Promise((r) => (done = r));
  const clients = [];
  for (let i = 0; i < nClients; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(nClients, i + 50); j++) {
      const s = io(urlOf(j), opts);
      clients.push(s);
      s.on("chat message", () => {
        received += 1;
        if (received === want) done();
      });
      batch.push(new Promise((res, rej) => {
        s.once("connect", () => s.emit("join", "bench", res));
        s.once("connect_error", rej);
      }));
    }
    // A connection or join that never completes fails the run, with counts, instead of hanging it.
    let timer;
    const stuck = new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error(`clients ${i}..${i + batch.length}: not all connected and joined within 30 s (${clients.filter((c) => c.connected).length} of ${clients.length} connected)`)), 30000);
    });
    await Promise.race([Promise.all(batch), stuck]);
    clearTimeout(timer);
  }
  const sender = io(urlOf(0), opts);
  await new Promise((r) => sender.once("connect", r));
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < nMessages; k++) {
    // Wait for each ack: the sender never outruns the server.
    await sender.emitWithAck("chat message", { text: `message ${k} `.padEnd(64, "."), to: "room:bench" });
  }
  const timeout = setTimeout(() => done(), 60000);
  await finished;
  clearTimeout(timeout);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ nodes: ports.length, clients: nClients, messages: nMessages, deliveries: received, seconds, per_second: Math.round(received / seconds) }));
  for (const s of [...clients, sender]) s.disconnect();
  process.exit(received === want ? 0 : 1);
}
main().catch((e) => { console.error(e.message); process.exit(1); });
