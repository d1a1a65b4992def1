import assert from "node:assert/strict";
import { test } from "node:test";

import { RoomSession } from "../src/session.js";
import { FakeClient, tick } from "./fakes.js";

const snapshot = (version, extra = {}) => ({
  version, phase: "live", gathering: { id: "g1" }, you: { person_id: 1 }, agenda: [],
  current: null, hands: [], speaker: null, chat: [], presence: [], server_now: 1000, ...extra,
});
const chat = (version, text) => ({
  gathering: "g1", version, type: "chat.posted",
  data: { person_id: 1, name: "A", municipality: null, text, at: 1 },
});
const texts = (session) => session.state.chat.map((m) => m.text);

async function joined(version = 3) {
  const client = new FakeClient();
  const session = new RoomSession(client);
  const join = session.join();
  assert.equal(client.sent[0].type, "room.join");
  client.sent[0].resolve({ ok: true, version, snapshot: snapshot(version) });
  await join;
  return { client, session };
}

test("next version applies, old versions are ignored", async () => {
  const { client, session } = await joined(3);
  client.fire("event", chat(4, "a"));
  client.fire("event", chat(4, "a again"));
  client.fire("event", chat(2, "old"));
  assert.deepEqual(texts(session), ["a"]);
  assert.equal(session.state.version, 4);
  assert.equal(client.sent.length, 1);
});

test("a gap asks room.sync since the last version, then applies what was held", async () => {
  const { client, session } = await joined(3);
  client.fire("event", chat(6, "c"));
  assert.deepEqual(client.sent[1], { type: "room.sync", fields: { since: 3 }, resolve: client.sent[1].resolve });
  client.fire("event", chat(7, "d")); // arrives while syncing: held
  client.sent[1].resolve({ ok: true, version: 6, server_now: 1000,
    events: [chat(4, "a"), chat(5, "b"), chat(6, "c")] });
  await tick();
  assert.deepEqual(texts(session), ["a", "b", "c", "d"]);
  assert.equal(session.state.version, 7);
});

test("a snapshot in the sync answer replaces the state (reset)", async () => {
  const { client, session } = await joined(3);
  client.fire("event", chat(9, "x"));
  client.sent[1].resolve({ ok: true, version: 1, snapshot: snapshot(1, { phase: "lobby" }) });
  await tick();
  // still behind after the snapshot: 9 is not 2, so another sync is asked
  assert.equal(session.state.phase, "lobby");
  assert.deepEqual(client.sent[2].fields, { since: 1 });
});

test("events that arrive during a join are applied after the snapshot", async () => {
  const client = new FakeClient();
  const changes = [];
  const session = new RoomSession(client, { onChange: (s) => changes.push(s.version) });
  const join = session.join();
  client.fire("event", chat(5, "during"));
  client.fire("event", chat(4, "covered by the snapshot"));
  client.fire("presence", { gathering: "g1", type: "presence.joined", data: { person_id: 9, name: "N" } });
  client.sent[0].resolve({ ok: true, version: 4, snapshot: snapshot(4) });
  await join;
  assert.deepEqual(texts(session), ["during"]);
  assert.deepEqual(session.state.presence.map((p) => p.person_id), [9]);
  assert.deepEqual(changes.at(-1), 5);
});

test("presence batches held during a join apply after the snapshot, by revision", async () => {
  const client = new FakeClient();
  const session = new RoomSession(client);
  const join = session.join();
  const entry = (type, rev, person_id) => ({ type, rev, data: { person_id, name: `P${person_id}` } });
  // before the answer: 8 came and left (the snapshot, read after, has neither), 9 came
  client.fire("presence", { gathering: "g1", type: "presence.changed",
    data: { changes: [entry("presence.joined", 41, 8), entry("presence.joined", 42, 9)] } });
  client.fire("presence", { gathering: "g1", type: "presence.changed",
    data: { changes: [entry("presence.left", 43, 8)] } });
  client.sent[0].resolve({ ok: true, version: 4, snapshot: snapshot(4, {
    presence: [{ person_id: 9, name: "P9" }], presence_rev: 43 }) });
  await join;
  assert.deepEqual(session.state.presence.map((p) => p.person_id), [9]);
  // after it: only what is newer than the snapshot counts
  client.fire("presence", { gathering: "g1", type: "presence.changed",
    data: { changes: [entry("presence.left", 42, 9), entry("presence.joined", 44, 8)] } });
  assert.deepEqual(session.state.presence.map((p) => p.person_id).sort(), [8, 9]);
});

test("errors are reported; a dropped connection is not an error", async () => {
  const client = new FakeClient();
  const errors = [];
  const session = new RoomSession(client, { onError: (e) => errors.push(e.code) });
  const first = session.join();
  client.sent[0].resolve({ ok: false, error: { code: "disconnected", message: "" } });
  await first;
  const second = session.join();
  client.sent[1].resolve({ ok: false, error: { code: "forbidden", message: "no" } });
  await second;
  assert.deepEqual(errors, ["forbidden"]);
  assert.equal(session.state, null);
});

test("the clock offset comes from the answer's server_now", async () => {
  const client = new FakeClient();
  const session = new RoomSession(client);
  const join = session.join();
  const local = Date.now() / 1000;
  client.sent[0].resolve({ ok: true, version: 1, snapshot: snapshot(1, { server_now: local + 3600 }) });
  await join;
  assert.ok(Math.abs(session.offset - 3600) < 5, session.offset);
});

test("when the bus is back the session asks room.sync, also after a catch-up on its way", async () => {
  const { client, session } = await joined(3);
  client.fire("bus", "down");
  assert.equal(client.sent.length, 1); // down: nothing to ask yet
  client.fire("bus", "up");
  assert.deepEqual(client.sent[1].fields, { since: 3 });
  client.fire("bus", "up"); // another worker's "up" while the first sync is on its way
  assert.equal(client.sent.length, 2);
  client.sent[1].resolve({ ok: true, version: 4, server_now: 1000, events: [chat(4, "a")] });
  await tick();
  // that answer may predate what the second "up" was about: ask once more
  assert.deepEqual(client.sent[2].fields, { since: 4 });
  client.sent[2].resolve({ ok: true, version: 5, server_now: 1000, events: [chat(5, "b")] });
  await tick();
  assert.deepEqual(texts(session), ["a", "b"]);
  assert.equal(client.sent.length, 3);
});
