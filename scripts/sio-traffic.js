// Socket.IO traffic between the official socket.io server and socket.io-client
// on loopback, for captures. Three clients: the default (long-polling, then
// upgrade to WebSocket), polling only, and WebSocket only.
//     node sio-traffic.js PORT
const { Server } = require("socket.io");
const { io } = require("socket.io-client");

const port = Number(process.argv[2] || 9102);
const server = new Server(port, { pingInterval: 300, pingTimeout: 2000 });

server.on("connection", (socket) => {
  socket.join("lobby");
  socket.on("chat message", (msg, ack) => {
    server.to("lobby").emit("chat message", { from: socket.id, text: msg.text });
    if (typeof ack === "function") ack({ ok: true });
  });
  socket.on("upload", (buf, ack) => ack({ bytes: buf.length }));
});
server.of("/admin").on("connection", (socket) => {
  socket.emit("welcome", "hello, admin");
});

function run(name, opts) {
  return new Promise((resolve) => {
    const c = io(`http://127.0.0.1:${port}`, { ...opts, forceNew: true });
    const admin = io(`http://127.0.0.1:${port}/admin`, { ...opts, forceNew: false });
    c.on("connect", async () => {
      await new Promise((r) => setTimeout(r, 150)); // let the upgrade finish
      const reply = await c.emitWithAck("chat message", { text: `hi from the ${name} client` });
      c.emit("chat message", { text: "no ack wanted" });
      const up = await c.emitWithAck("upload", Buffer.from([1, 2, 3, 4, 5]));
      await new Promise((r) => setTimeout(r, 400)); // a heartbeat passes
      console.log(name, JSON.stringify(reply), JSON.stringify(up));
      admin.disconnect();
      c.disconnect();
      setTimeout(resolve, 100);
    });
  });
}

(async () => {
  await run("default", {});
  await run("polling", { transports: ["polling"] });
  await run("websocket", { transports: ["websocket"] });
  server.close();
  process.exit(0);
})();
