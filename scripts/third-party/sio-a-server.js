// sio-a: the official socket.io server (npm socket.io) speaking the same events as
// wirelab's chat (src/serve/chat.rs): "welcome" after each connect, "nick", "join",
// "leave" and "chat message" (with `to` = all, others, self, room:R, room+self:R,
// socket:ID, nsp:/admin), each answered by an ack; namespaces "/" and "/admin".
// Differences on purpose: "welcome" asks the client for an ack (a server emit with
// ack), and the WebSocket upgrade of a polling session (a websocket request carrying
// sid=) can be held back a while (--slow-upgrade MS), as a slow proxy would, so that
// the default client talks over long-polling before it upgrades.
//     node sio-a-server.js PORT [--slow-upgrade MS]
// Prints "listening PORT" once it accepts connections; also serves a test page at /.
"use strict";
const path = require("path");
const http = require("http");
const { Server } = require(path.join(__dirname, "../../tests/js/node_modules/socket.io"));

const port = Number(process.argv[2]);
const slowIdx = process.argv.indexOf("--slow-upgrade");
const slowUpgrade = slowIdx > 0 ? Number(process.argv[slowIdx + 1]) : 0;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>sio-a chat</title><link rel="icon" href="data:,"></head>
<body><p id="status">loading</p><ul id="messages"></ul>
<script src="/socket.io/socket.io.min.js"></script>
<script>
// One student's chat: connect to "/" (and "/admin" when asked), over the transports asked.
window.student = function (name, transports, admin) {
  const opts = transports ? { transports } : {};
  const mk = (nsp) => {
    const s = io(nsp, opts);
    s.inbox = [];
    s.on("welcome", (w, ack) => { s.welcome = w; if (ack) ack({ thanks: name }); });
    s.on("chat message", (m) => {
      s.inbox.push(m.text);
      const li = document.createElement("li");
      li.textContent = m.nick + ": " + m.text;
      document.getElementById("messages").appendChild(li);
    });
    return s;
  };
  window.me = mk("/");
  if (admin) window.adminSock = mk("/admin");
  const all = [window.me].concat(admin ? [window.adminSock] : []);
  return Promise.all(all.map((s) => new Promise((r) => (s.connected ? r() : s.once("connect", r))))).then(() => {
    document.getElementById("status").textContent = "connected as " + window.me.id;
    return window.me.id;
  });
};
window.transportName = () => window.me.io.engine.transport.name;
window.upgraded = () => new Promise((r) => {
  if (window.me.io.engine.transport.name === "websocket") return r();
  window.me.io.engine.once("upgrade", () => r());
});
</script></body></html>
`;

const httpServer = http.createServer((req, res) => {
  if (req.url === "/" || req.url.startsWith("/?")) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" });
    res.end(PAGE);
  } else if (!req.url.startsWith("/socket.io/")) {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  }
});

const io = new Server(httpServer, { pingInterval: 500, pingTimeout: 2000, serveClient: true });

if (slowUpgrade > 0) {
  // engine.io listens for "upgrade" on the HTTP server; hold the upgrade of an
  // existing polling session (its URI names the sid) before handing it over.
  const orig = httpServer.listeners("upgrade");
  httpServer.removeAllListeners("upgrade");
  httpServer.on("upgrade", (req, socket, head) => {
    const later = () => orig.forEach((l) => l.call(httpServer, req, socket, head));
    if (/[?&]sid=/.test(req.url)) setTimeout(later, slowUpgrade);
    else later();
  });
}

let offset = 0;
const nicks = new Map();

function target(nsp, socket, to) {
  to = to || "all";
  if (to === "all") return nsp;
  if (to === "others") return socket.broadcast;
  if (to === "self") return socket;
  if (to.startsWith("room+self:")) return nsp.in(to.slice(10));
  if (to.startsWith("room:")) return socket.to(to.slice(5));
  if (to.startsWith("socket:")) return nsp.to(to.slice(7));
  if (to.startsWith("nsp:")) return io.of(to.slice(4));
  return null;
}

for (const name of ["/", "/admin"]) {
  const nsp = io.of(name);
  nsp.on("connection", (socket) => {
    const rooms = () => [...socket.rooms].sort();
    socket.on("nick", (n, ack) => {
      nicks.set(socket.id, String(n));
      if (typeof ack === "function") ack({ ok: true, nick: String(n) });
    });
    socket.on("join", (room, ack) => {
      socket.join(String(room));
      if (typeof ack === "function") ack({ rooms: rooms() });
    });
    socket.on("leave", (room, ack) => {
      if (room !== socket.id) socket.leave(String(room));
      if (typeof ack === "function") ack({ rooms: rooms() });
    });
    socket.on("chat message", (msg, ack) => {
      const t = target(nsp, socket, msg && msg.to);
      if (!t || !msg || typeof msg.text !== "string") {
        if (typeof ack === "function") ack({ ok: false, error: "bad chat message" });
        return;
      }
      offset += 1;
      t.emit("chat message", { from: socket.id, nick: nicks.get(socket.id) || "anonymous", text: msg.text, to: msg.to || "all", offset });
      if (typeof ack === "function") ack({ ok: true, offset });
    });
    socket.on("disconnect", () => nicks.delete(socket.id));
    // The greeting, with an ack asked of the client (a server emit with ack).
    socket.timeout(5000).emit("welcome", { id: socket.id, nsp: name, rooms: rooms() }, () => {});
  });
}

httpServer.listen(port, "127.0.0.1", () => console.log(`listening ${port}`));
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
