// sio-b: a small chat on the OFFICIAL socket.io server, for third-party
// captures of wirelab's missed-events / message-queues labs.
//     node sio-b-server.js PORT [--recovery]
// With --recovery the server enables socket.io's connectionStateRecovery:
// broadcasts carry an offset as their last argument, and a client that comes
// back within 2 minutes with its pid and last offset gets the missed packets.
"use strict";
const path = require("node:path");
const { Server } = require(path.join(__dirname, "../../tests/js/node_modules/socket.io"));

const port = Number(process.argv[2]);
const recovery = process.argv.includes("--recovery");
const io = new Server({
  // a short heartbeat would only add noise to the capture
  pingInterval: 25000,
  pingTimeout: 20000,
  ...(recovery ? { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 } } : {}),
});

io.on("connection", (socket) => {
  console.error(`server: connection ${socket.id} transport=${socket.conn.transport.name} recovered=${socket.recovered}`);
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack({ ok: true, rooms: [...socket.rooms].filter((r) => r !== socket.id) });
  });
  socket.on("online", (ack) => {
    if (typeof ack === "function") ack(io.of("/").sockets.size);
  });
  socket.on("chat message", (msg, ack) => {
    const out = { from: socket.id, text: String(msg.text), to: msg.to };
    if (msg.to && msg.to.startsWith("room:")) io.to(msg.to.slice(5)).emit("chat message", out);
    else io.emit("chat message", out);
    if (typeof ack === "function") ack({ ok: true });
  });
  socket.on("disconnect", (reason) => console.error(`server: disconnect ${socket.id} (${reason})`));
});

const http = require("node:http").createServer();
io.attach(http);
http.listen(port, "127.0.0.1", () => console.log(`listening ${port} recovery=${recovery}`));
process.on("SIGTERM", () => { io.close(); process.exit(0); });
