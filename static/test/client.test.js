import assert from "node:assert/strict";
import { test } from "node:test";

import { commandRunner, ProtocolClient } from "../src/client.js";
import { FakeSocket } from "./fakes.js";

test("commands get unique ids and resolve with their ack", async () => {
  const socket = new FakeSocket();
  const client = new ProtocolClient("g1", socket);
  socket.connect();
  const first = client.send("hand.raise");
  const second = client.send("chat.send", { text: "hei" });
  const [a, b] = socket.emitted;
  assert.notEqual(a.message.id, b.message.id);
  assert.ok(a.message.id.length <= 64);
  assert.deepEqual(b.message, { text: "hei", id: b.message.id, type: "chat.send", gathering: "g1" });
  b.ack({ ok: true, version: 2 });
  a.ack({ ok: true, version: 1 });
  assert.deepEqual(await first, { ok: true, version: 1 });
  assert.deepEqual(await second, { ok: true, version: 2 });
});

test("unanswered commands are resent with the same id after a reconnect", async () => {
  const socket = new FakeSocket();
  const client = new ProtocolClient("g1", socket);
  socket.connect();
  const sent = client.send("chat.send", { text: "hei" });
  const read = client.send("room.sync", { since: 3 }, { resend: false });
  socket.drop();
  assert.deepEqual(await read, { ok: false, error: { code: "disconnected", message: "disconnected" } });
  const offline = client.send("hand.raise"); // queued, not emitted while offline
  assert.equal(socket.emitted.length, 2);
  socket.connect();
  client.resendPending();
  const resent = socket.emitted.slice(2);
  assert.deepEqual(resent.map((e) => e.message.type), ["chat.send", "hand.raise"]);
  assert.equal(resent[0].message.id, socket.emitted[0].message.id);
  resent[0].ack({ ok: true, version: 7 });
  socket.emitted[0].ack({ ok: true, version: 99 }); // a late duplicate answer is ignored
  resent[1].ack({ ok: true, version: 8 });
  assert.deepEqual(await sent, { ok: true, version: 7 });
  assert.deepEqual(await offline, { ok: true, version: 8 });
  assert.equal(client.pending.size, 0);
});

test("only our gathering's events are passed on; a server kick reconnects", () => {
  const socket = new FakeSocket();
  const client = new ProtocolClient("g1", socket);
  const seen = [];
  client.on("event", (e) => seen.push(e.version));
  socket.serverSends("event", { gathering: "g2", version: 1 });
  socket.serverSends("event", { gathering: "g1", version: 2 });
  assert.deepEqual(seen, [2]);
  let connects = 0;
  client.on("connect", () => { connects += 1; });
  socket.drop("io server disconnect");
  assert.equal(connects, 1);
});

test("a panel sends one command at a time and shows how it went", async () => {
  let release;
  const sent = [];
  const client = {
    send: (type) => { sent.push(type); return new Promise((resolve) => { release = resolve; }); },
  };
  const said = [];
  const run = commandRunner(client, { setStatus: (text) => said.push(["status", text]),
    showError: (error) => said.push(["error", error.code]) });
  const first = run("agenda.next");
  assert.equal(await run("agenda.next"), null); // a second click while the first is on its way
  release({ ok: true });
  assert.deepEqual(await first, { ok: true });
  const second = run("agenda.pause");
  release({ ok: false, error: { code: "forbidden" } });
  await second;
  assert.deepEqual(sent, ["agenda.next", "agenda.pause"]);
  assert.deepEqual(said, [["status", ""], ["error", "forbidden"]]);
});

test("the server's bus going down and up is passed on, whatever the gathering", () => {
  const socket = new FakeSocket();
  const client = new ProtocolClient("g1", socket);
  const heard = [];
  client.on("bus", (state) => heard.push(state));
  socket.serverSends("bus", { state: "down" });
  socket.serverSends("bus", { state: "up" });
  assert.deepEqual(heard, ["down", "up"]);
});
