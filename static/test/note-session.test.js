// notes/session.js: one shared note over the socket, without a DOM.
import assert from "node:assert/strict";
import { test } from "node:test";

import { NoteSession } from "../src/notes/session.js";
import { FakeSocket, tick } from "./fakes.js";

const sent = (socket) => socket.emitted.map((e) => e.name);

function open(t, socket) {
  const session = new NoteSession(socket, { gathering: "g1", note: "plenary",
                                            user: { name: "Alice" } }).start();
  t.after(() => session.destroy()); // its awareness timer would keep node running
  return session;
}

test("asked to refresh while offline, the note waits for the reconnect to subscribe", async (t) => {
  const socket = new FakeSocket();
  const session = open(t, socket);
  session.onConnect(); // what the room's refresh() does when the gathering ends
  await tick();
  assert.deepEqual(sent(socket), []);
  socket.connect();
  await tick();
  assert.deepEqual(sent(socket), ["note.subscribe"]);
});

test("after the socket dropped, a refresh sends nothing until it is back", async (t) => {
  const socket = new FakeSocket();
  socket.connected = true;
  const session = open(t, socket);
  assert.deepEqual(sent(socket), ["note.subscribe"]);
  socket.drop();
  session.onConnect();
  await tick();
  assert.deepEqual(sent(socket), ["note.subscribe"]);
  socket.connect();
  await tick();
  assert.deepEqual(sent(socket), ["note.subscribe", "note.subscribe"]);
});
