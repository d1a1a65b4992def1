// A bare socket.io 4.8 server: the reference the forum's fan-out is measured against
// (bench/storm.py). It speaks the forum's envelope and nothing more: a `command` event with
// an ack; `room.join` puts the connection in the gathering's room and answers a tiny
// snapshot; `chat.send` fans a `chat.posted` event out to the room as the forum's `event`.
// No database, no sign-in, no presence, no rate limits. Websocket only, perMessageDeflate
// off (as the forum). Listens on 127.0.0.1 only.
//
//   node bench/node/bare-server.js --port 8090
//
// GET /healthz answers 200 once it listens.

import { createServer } from "node:http";
import { Server } from "socket.io";

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const port = Number(option("port", "8090"));
const host = option("host", "127.0.0.1");

const http = createServer((request, response) => {
  if (request.url === "/healthz") {
    response.writeHead(200, { "Content-Type": "text/plain" });
    response.end("ok\n");
    return;
  }
  response.writeHead(404);
  response.end();
});

const io = new Server(http, {
  transports: ["websocket"],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  maxHttpBufferSize: 65536,
});

const versions = new Map(); // gathering id -> version (events so far)

io.on("connection", (socket) => {
  socket.on("command", (message, ack) => {
    if (typeof ack !== "function") return;
    if (message === null || typeof message !== "object" || typeof message.gathering !== "string") {
      ack({ ok: false, error: { code: "invalid_format", message: "not a command" } });
      return;
    }
    const gathering = message.gathering;
    const room = `gathering:${gathering}`;
    if (message.type === "room.join") {
      socket.join(room);
      const version = versions.get(gathering) ?? 0;
      ack({ ok: true, version, snapshot: { gathering, version, phase: "live" } });
    } else if (message.type === "chat.send" && typeof message.text === "string") {
      const version = (versions.get(gathering) ?? 0) + 1;
      versions.set(gathering, version);
      io.to(room).emit("event", {
        gathering, version, type: "chat.posted",
        data: { person_id: 0, name: "Bench", municipality: "", text: message.text.trim(),
                at: Date.now() / 1000 },
      });
      ack({ ok: true, version });
    } else {
      ack({ ok: false, error: { code: "unknown_command", message: String(message.type) } });
    }
  });
});

http.listen(port, host, () => {
  console.log(`bare socket.io ${host}:${port} pid ${process.pid}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
