import assert from "node:assert/strict";
import { test } from "node:test";

import {
  CHAT_KEPT, applyPresence, currentSlot, fromSnapshot, hasHandUp, isHere, nextHand, presentCount,
  reduce,
} from "../src/reducer.js";
import { callNextLabel } from "../src/view.js";

const alice = { person_id: 2, name: "Alice Askvik", municipality: "Askvik kommune" };
const bjorn = { person_id: 3, name: "Bjørn Brekke", municipality: "Brekke kommune" };

const snapshot = () => ({
  version: 4, phase: "lobby", gathering: { id: "g1", title: "Samling 1" },
  you: { ...alice, role: "participant" },
  agenda: [{ id: 11, title: "Velkommen", kind: "welcome", planned_minutes: 10 },
    { id: 12, title: "Innlegg", kind: "expert_talk", planned_minutes: 20 }],
  current: null, hands: [], speaker: null, chat: [], presence: [], server_now: 1000,
});

const ev = (version, type, data = {}) => ({ gathering: "g1", version, type, data });

test("events advance the version and change only their slice", () => {
  const s0 = fromSnapshot(snapshot());
  const s1 = reduce(s0, ev(5, "room.opened", { at: 1000 }));
  assert.equal(s1.phase, "live");
  assert.equal(s1.version, 5);
  assert.equal(s1.agenda, s0.agenda);
  const s2 = reduce(s1, ev(6, "agenda.item_started",
    { index: 1, item_id: 12, started_at: 1000, planned_seconds: 1200 }));
  assert.deepEqual(s2.current, { index: 1, item_id: 12, started_at: 1000, planned_seconds: 1200,
    extended_seconds: 0, paused_at: null, paused_seconds: 0, warned: false, deadline: 2200 });
  assert.equal(currentSlot(s2).title, "Innlegg");
  const s3 = reduce(s2, ev(7, "agenda.item_extended", { index: 1, extended_seconds: 300 }));
  assert.equal(s3.current.deadline, 2500);
  assert.equal(s3.current.extended_seconds, 300);
});

test("hands: raise once, lower, call the first", () => {
  let s = fromSnapshot({ ...snapshot(), phase: "live" });
  s = reduce(s, ev(5, "hand.raised", alice));
  s = reduce(s, ev(6, "hand.raised", alice));
  s = reduce(s, ev(7, "hand.raised", bjorn));
  assert.deepEqual(s.hands.map((h) => h.person_id), [2, 3]);
  assert.ok(hasHandUp(s, 2));
  s = reduce(s, ev(8, "hand.called", alice));
  assert.deepEqual(s.speaker, alice);
  assert.deepEqual(s.hands, [bjorn]);
  s = reduce(s, ev(9, "hand.lowered", { person_id: 3 }));
  assert.deepEqual(s.hands, []);
  s = reduce(s, ev(10, "gathering.ended", { at: 2000 }));
  assert.equal(s.phase, "ended");
  assert.equal(s.speaker, null);
});

test("the next hand is the first in the queue who is here, as the server calls it", () => {
  let s = fromSnapshot({ ...snapshot(), phase: "live", presence: [{ ...bjorn, role: "participant" }] });
  assert.equal(callNextLabel(s), "Call next hand");
  s = reduce(s, ev(5, "hand.raised", alice));
  s = reduce(s, ev(6, "hand.raised", bjorn));
  assert.equal(isHere(s, 2), false, "Alice closed her tabs");
  assert.deepEqual(nextHand(s), bjorn, "passed over, she keeps her place");
  assert.equal(callNextLabel(s), "Call next hand: Bjørn Brekke");
  s = applyPresence(s, { type: "presence.left", data: { person_id: 3 } });
  assert.equal(nextHand(s), null);
  assert.equal(callNextLabel(s), "Call next hand (nobody in the queue is here)");
  s = applyPresence(s, { type: "presence.joined", data: { ...alice, role: "participant" } });
  assert.deepEqual(nextHand(s), alice, "back: first in line again");
});

test("a new agenda item ends the floor but keeps the queue", () => {
  let s = fromSnapshot({ ...snapshot(), phase: "live" });
  s = reduce(s, ev(5, "hand.raised", alice));
  s = reduce(s, ev(6, "hand.raised", bjorn));
  s = reduce(s, ev(7, "hand.called", alice));
  s = reduce(s, ev(8, "agenda.item_started",
    { index: 0, item_id: 11, started_at: 1000, planned_seconds: 600 }));
  assert.equal(s.speaker, null);
  assert.deepEqual(s.hands, [bjorn]);
});

test("chat keeps the newest messages", () => {
  let s = fromSnapshot(snapshot());
  for (let i = 0; i < CHAT_KEPT + 5; i += 1) {
    s = reduce(s, ev(5 + i, "chat.posted", { ...alice, text: `m${i}`, at: 1000 + i }));
  }
  assert.equal(s.chat.length, CHAT_KEPT);
  assert.equal(s.chat.at(-1).text, `m${CHAT_KEPT + 4}`);
});

test("unknown events only advance the version; the input is never mutated", () => {
  const s0 = Object.freeze(fromSnapshot(snapshot()));
  const s1 = reduce(s0, ev(5, "something.new", { x: 1 }));
  assert.equal(s1.version, 5);
  assert.equal(s0.version, 4);
  assert.equal(reduce(s1, ev(6, "attendee.arrived", alice)).hands, s0.hands);
});

test("presence: joined adds or replaces, left removes", () => {
  let s = fromSnapshot(snapshot());
  s = applyPresence(s, { type: "presence.joined", data: { ...alice, role: "participant" } });
  s = applyPresence(s, { type: "presence.joined", data: { ...alice, role: "participant" } });
  s = applyPresence(s, { type: "presence.joined", data: { ...bjorn, role: "participant" } });
  assert.deepEqual(s.presence.map((p) => p.person_id), [2, 3]);
  s = applyPresence(s, { type: "presence.left", data: { person_id: 2 } });
  assert.deepEqual(s.presence.map((p) => p.person_id), [3]);
  assert.equal(s.version, 4);
});

const joinedAt = (rev, who) => ({ type: "presence.joined", rev, data: { ...who, role: "participant" } });
const leftAt = (rev, who) => ({ type: "presence.left", rev, data: { person_id: who.person_id } });
const changed = (...changes) => ({ gathering: "g1", type: "presence.changed", data: { changes } });
const ids = (s) => s.presence.map((p) => p.person_id);

test("presence.changed applies its entries in order, as one new list", () => {
  const s0 = fromSnapshot({ ...snapshot(), presence: [{ ...alice, role: "participant" }], presence_rev: 10 });
  const s1 = applyPresence(s0, changed(joinedAt(11, bjorn), leftAt(12, alice)));
  assert.deepEqual(ids(s1), [3]);
  assert.notEqual(s1.presence, s0.presence);
  assert.equal(s1.version, 4);
  // a join then a leave in one moment comes as the leave alone, and ends as left
  const s2 = applyPresence(s1, changed(leftAt(14, bjorn)));
  assert.deepEqual(ids(s2), []);
  // an empty batch, or only unknown entry types, changes nothing
  assert.equal(applyPresence(s2, changed()), s2);
  assert.equal(applyPresence(s2, changed({ type: "presence.waved", rev: 20, data: { person_id: 2 } })), s2);
});

test("presence entries the snapshot already holds are skipped", () => {
  const s0 = fromSnapshot({ ...snapshot(), presence: [{ ...alice, role: "participant" }], presence_rev: 20 });
  // alice's leave and bjorn's join happened before the snapshot was read (rev <= 20):
  // the batch arrives after it, and must not take alice away again
  const s1 = applyPresence(s0, changed(joinedAt(18, bjorn), leftAt(19, alice)));
  assert.equal(s1, s0);
  assert.deepEqual(ids(s1), [2]);
  const s2 = applyPresence(s1, changed(leftAt(19, alice), leftAt(21, alice)));
  assert.deepEqual(ids(s2), []);
});

test("batches from two workers in either order end with the server's list", () => {
  // a page reload: alice's old tab leaves on worker A (rev 31), her new tab arrives on
  // worker B (rev 32); each worker sends its own batch, and they may cross on the way
  const start = fromSnapshot({ ...snapshot(), presence: [{ ...alice, role: "participant" }], presence_rev: 30 });
  const fromA = changed(leftAt(31, alice));
  const fromB = changed(joinedAt(32, alice), joinedAt(33, bjorn));
  for (const order of [[fromA, fromB], [fromB, fromA]]) {
    const end = order.reduce(applyPresence, start);
    assert.deepEqual(ids(end).sort(), [2, 3], JSON.stringify(order));
  }
  // and the same person leaving for good after that, seen late, still wins
  const late = [fromB, changed(leftAt(34, alice)), fromA].reduce(applyPresence, start);
  assert.deepEqual(ids(late), [3]);
});

test("a fresh snapshot resets what was seen of presence", () => {
  let s = fromSnapshot({ ...snapshot(), presence_rev: 5 });
  s = applyPresence(s, changed(joinedAt(50, alice)));
  assert.deepEqual(s.presence_seen, { 2: 50 });
  s = fromSnapshot({ ...snapshot(), presence_rev: 7 }); // e.g. after a reconnect
  assert.deepEqual(s.presence_seen, {});
  assert.deepEqual(ids(applyPresence(s, changed(joinedAt(8, bjorn)))), [3]);
  // a snapshot without presence_rev (an older server) applies everything
  assert.equal(fromSnapshot(snapshot()).presence_rev, 0);
});

test("agenda planning events change the agenda the room shows", () => {
  const s0 = fromSnapshot(snapshot());
  const pause = { id: 13, title: "Pause", kind: "break", planned_minutes: 5, expert_id: null, breakout: null };
  const s1 = reduce(s0, ev(5, "agenda.item_added", { item: pause, position: 1 }));
  assert.deepEqual(s1.agenda.map((i) => i.id), [11, 13, 12]);
  const s2 = reduce(s1, ev(6, "agenda.item_moved", { item_id: 13, position: 2 }));
  assert.deepEqual(s2.agenda.map((i) => i.id), [11, 12, 13]);
  const s3 = reduce(s2, ev(7, "agenda.item_updated", { item: { ...pause, title: "Kaffe" } }));
  assert.equal(s3.agenda[2].title, "Kaffe");
  const s4 = reduce(s3, ev(8, "agenda.item_removed", { item_id: 11 }));
  assert.deepEqual(s4.agenda.map((i) => i.id), [12, 13]);
  const s5 = reduce(s4, ev(9, "agenda.replaced", { agenda: [pause], template: "standard", from_gathering: null }));
  assert.deepEqual(s5.agenda, [pause]);
  assert.equal(s5.version, 9);
});

test("a large room names my municipality and who runs it, and counts the others", () => {
  const snapshot = {
    version: 3, phase: "open", agenda: [], current: null, hands: [], speaker: null, chat: [],
    you: { person_id: 1, name: "Alice", municipality: "Askvik kommune", role: "participant" },
    presence: [
      { person_id: 1, name: "Alice", municipality: "Askvik kommune", role: "participant" },
      { person_id: 9, name: "Frida", municipality: null, role: "facilitator" },
    ],
    presence_others: { "Bergvik kommune": [2, 3] },
    presence_rev: 10,
  };
  let state = fromSnapshot(snapshot);
  assert.equal(presentCount(state), 4);
  assert.ok(isHere(state, 3));
  state = applyPresence(state, { type: "presence.changed", data: { changes: [
    { type: "presence.joined", rev: 11,
      data: { person_id: 4, name: "Cecilie", municipality: "Bergvik kommune", role: "participant" } },
    { type: "presence.joined", rev: 12,
      data: { person_id: 5, name: "Dag", municipality: "Askvik kommune", role: "participant" } },
    { type: "presence.left", rev: 13, data: { person_id: 2 } },
  ] } });
  assert.deepEqual(state.presence.map((p) => p.person_id), [1, 9, 5]);
  assert.deepEqual(state.presence_others, { "Bergvik kommune": [3, 4] });
  assert.equal(presentCount(state), 5);
  assert.ok(!isHere(state, 2));
  state = applyPresence(state, { type: "presence.changed", data: { changes: [
    { type: "presence.left", rev: 14, data: { person_id: 3 } },
    { type: "presence.left", rev: 15, data: { person_id: 4 } },
  ] } });
  assert.deepEqual(state.presence_others, {});
});

test("a small room's snapshot has no counted others: every entry is named", () => {
  const state = applyPresence(fromSnapshot({
    version: 1, phase: "open", agenda: [], current: null, hands: [], speaker: null, chat: [],
    you: { person_id: 1, municipality: "Askvik kommune" }, presence: [], presence_rev: 1,
  }), { type: "presence.changed", data: { changes: [{ type: "presence.joined", rev: 2,
    data: { person_id: 2, name: "Bjørn", municipality: "Bergvik kommune", role: "participant" } }] } });
  assert.equal(state.presence_others, null);
  assert.deepEqual(state.presence.map((p) => p.person_id), [2]);
});
