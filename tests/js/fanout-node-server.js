// The official Node socket.io server with the part of wirelab's chat API the
// fan-out benchmark uses (`join`, and `chat message` to "room:R"), so both
// servers face the same load generator (fanout-load.js). With a Redis URL it
// is one node of several, joined by the official @socket.io/redis-adapter.
//     node fanout-node-server.js PORT [redis://HOST:PORT]
"use strict";
const { Server } = require("socket.io");

async function main() {
  const io = new Server(Number(process.argv[2]), { transports: ["websocket"] });
  const url = process.argv[3];
  if (url) {
    const { createClient } = require("redis");
    const { createAdapter } = require("@socket.io/redis-adapter");
    const pub = createClient({ url });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub));
  }
  let offset = 0;
  io.on("connection", (s) => {
    s.on("join", (room, ack) => {
      s.join(room);
      if (typeof ack === "function") ack({ rooms: [...s.rooms].sort() });
    });
    s.on("chat message", (m, ack) => {
      offset += 1;
      const room = String(m.to).replace(/^room:/, "");
      s.to(room).emit("chat message", { from: s.id, nick: "anonymous", text: m.text, to: m.to, offset });
      if (typeof ack === "function") ack({ ok: true, offset });
    });
  });
  console.log(`listening on ${process.argv[2]}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
