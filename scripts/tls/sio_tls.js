// The official socket.io server and socket.io-client over HTTPS, for the
// TLS reference captures in captures/tls/. Run the server and the client as
// two processes so that only the client writes a key log:
//     node sio_tls.js server PORT CERT KEY      (prints LISTENING, CLOSED)
//     node --tls-keylog=FILE sio_tls.js client PORT [HOST]
// HOST defaults to 127.0.0.1; a name (localhost) goes into the ClientHello (SNI).
// The client uses the default transports (HTTP long-polling, then the
// upgrade to WebSocket), emits two events with acks and disconnects.
// Needs socket.io and socket.io-client on NODE_PATH.
const fs = require("fs");
const https = require("https");

const [role, portArg, certFile, keyFile] = process.argv.slice(2);
const host = role === "client" && certFile ? certFile : "127.0.0.1";
const port = Number(portArg);

if (role === "server") {
  const { Server } = require("socket.io");
  const httpsServer = https.createServer({
    cert: fs.readFileSync(certFile),
    key: fs.readFileSync(keyFile),
  });
  const io = new Server(httpsServer);
  io.on("connection", (socket) => {
    socket.on("chat message", (msg, ack) => ack({ ok: true, echo: msg }));
    socket.on("disconnect", (reason) => {
      console.log(`CLOSED ${reason}`);
    });
  });
  httpsServer.listen(port, "127.0.0.1", () => console.log("LISTENING"));
} else if (role === "client") {
  const { io } = require("socket.io-client");
  const socket = io(`https://${host}:${port}`, { rejectUnauthorized: false });
  socket.on("connect_error", (err) => {
    console.error("client:", err.message);
    process.exit(1);
  });
  socket.on("connect", () => {
    // Wait for the upgrade to WebSocket before emitting.
    const engine = socket.io.engine;
    const go = async () => {
      const a = await socket.emitWithAck("chat message", { text: "first event over https" });
      const b = await socket.emitWithAck("chat message", { text: "second event" });
      console.error(`client: ${engine.transport.name}`, JSON.stringify(a), JSON.stringify(b));
      socket.disconnect();
      setTimeout(() => process.exit(0), 200);
    };
    if (engine.transport.name === "websocket") go();
    else engine.once("upgrade", go);
  });
} else {
  console.error("usage: sio_tls.js server PORT CERT KEY | client PORT");
  process.exit(2);
}
