// A Node Yjs client for tests/server/test_notes_socket.py: the browser's own NoteSession
// (static/src/notes/session.js, with the real `yjs` and `y-protocols` packages) over the
// real socket.io-client. Usage: node client.mjs '{"url", "cookie", "gathering", "note",
// "insert", "expect"}'. It inserts `insert` at the end of the note once synced, waits until
// the note contains `expect` and everything it sent is acknowledged, then prints
// {"text", "may_write"} as one JSON line and exits 0 (1 after 20 s without success).
import { createRequire } from "node:module";

const staticDir = new URL("../../static/", import.meta.url);
// socket.io-client's CommonJS build, resolved from static/node_modules
const { io } = createRequire(new URL("package.json", staticDir))("socket.io-client");
// session.js imports yjs, lib0 and y-protocols itself, from static/node_modules too
const { NoteSession } = await import(new URL("src/notes/session.js", staticDir));

const config = JSON.parse(process.argv[2]);
const deadline = setTimeout(() => {
  console.error("timed out", JSON.stringify({ text: session.text.toString() }));
  process.exit(1);
}, 20000);

async function until(check) {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

const socket = io(config.url, {
  transports: ["websocket"], reconnection: false, extraHeaders: { Cookie: config.cookie } });
const session = new NoteSession(socket, {
  gathering: config.gathering, note: config.note,
  user: { name: "Node", color: "#1a5c8a", colorLight: "#1a5c8a33" } }).start();

await until(() => session.synced);
session.text.insert(session.text.length, config.insert);
await until(() => session.text.toString().includes(config.expect) && session.idle);
console.log(JSON.stringify({ text: session.text.toString(), may_write: session.mayWrite }));
clearTimeout(deadline);
session.destroy();
await new Promise((resolve) => setTimeout(resolve, 50));
socket.close();
process.exit(0);
