// The official Node socket.io server with the part of wirelab's chat API the
// fan-out benchmark uses (`join`, and `chat message` to "room:R"), so both
// servers face the same load generator (fanout-load.js).
//     node fanout-node-server.js PORT
"use strict";
const { Server } = require("socket.io");
const io = new Server(Number(process.argv[2]), { transports: ["websocket"] });
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
