import assert from "node:assert/strict";
import { test } from "node:test";

import { countdown } from "../src/clock.js";
import {
  BROADCASTS_KEPT, breakoutsStatus, fromSnapshot, groupNoteId, groupOf, isPaused, reduce,
} from "../src/reducer.js";

const member = (person_id, name, municipality, stage) => ({ person_id, name, municipality, stage, tags: [] });
const alice = member(2, "Alice Askvik", "Askvik kommune", "oppstart");
const bjorn = member(3, "Bjørn Brekke", "Brekke kommune", "oppstart");
const cecilie = member(4, "Cecilie Celle", "Celle kommune", "gjennomforing");
const dag = member(5, "Dag Dale", "Dale kommune", "gjennomforing");
const plan = { rule: "same_stage", group_size: 4, task: "Hva er vanskelig?", note_template: "Utfordring:\n",
  spread_municipalities: true };

const snapshot = (extra = {}) => ({
  version: 10, phase: "live", gathering: { id: "g1", title: "Samling 1" },
  you: { ...alice, role: "participant" },
  agenda: [{ id: 11, title: "Velkommen", kind: "welcome", planned_minutes: 10, expert_id: null, breakout: null },
    { id: 12, title: "Grupperom", kind: "breakout", planned_minutes: 20, expert_id: null, breakout: plan }],
  current: null, hands: [], speaker: null, chat: [], presence: [], breakouts: null, server_now: 1000,
  ...extra,
});

const ev = (version, type, data = {}) => ({ gathering: "g1", version, type, data });

const proposed = (version, round = 1) => ev(version, "breakouts.proposed", {
  round, item_id: 12, plan,
  groups: [{ id: "g1", name: "Oppstart", members: [alice, bjorn] },
    { id: "g2", name: "Gjennomføring", members: [cecilie, dag] }],
});

test("a snapshot without breakouts (older servers) reads as none", () => {
  const { breakouts, ...older } = snapshot();
  assert.equal(fromSnapshot(older).breakouts, null);
  assert.equal(breakoutsStatus(fromSnapshot(older)), null);
});

test("a snapshot's breakouts are taken as they are", () => {
  const b = { round: 2, item_id: 12, plan, groups: [{ id: "g1", name: "A", members: [alice] }], status: "open",
    opened_at: 900, deadline: 2100, warned: false, broadcasts: [] };
  const s = fromSnapshot(snapshot({ breakouts: b }));
  assert.equal(s.breakouts, b);
  assert.equal(groupOf(s, 2).id, "g1");
  assert.equal(groupNoteId(s.breakouts, "g1"), "r2-g1");
});

test("propose, open, warn, recall", () => {
  let s = fromSnapshot(snapshot());
  s = reduce(s, proposed(11));
  assert.equal(s.version, 11);
  assert.equal(breakoutsStatus(s), "proposed");
  assert.equal(s.breakouts.round, 1);
  assert.deepEqual(s.breakouts.broadcasts, []);
  assert.equal(s.breakouts.deadline, null);
  assert.equal(groupOf(s, 4).name, "Gjennomføring");
  assert.equal(groupOf(s, 99), null);

  s = reduce(s, ev(12, "breakouts.opened", { at: 1000, deadline: 2200 }));
  assert.equal(breakoutsStatus(s), "open");
  assert.equal(s.breakouts.opened_at, 1000);
  assert.equal(s.breakouts.deadline, 2200);

  s = reduce(s, ev(13, "breakouts.warned", { at: 2140 }));
  assert.equal(s.breakouts.warned, true);
  s = reduce(s, ev(14, "breakouts.recalled", { at: 2200 }));
  assert.equal(breakoutsStatus(s), "recalled");
  // the groups stay, for the harvest
  assert.equal(s.breakouts.groups.length, 2);
  assert.equal(groupOf(s, 2).id, "g1");
});

test("the groups keep time with their item: extended, paused, resumed", () => {
  let s = fromSnapshot(snapshot());
  s = reduce(s, proposed(11));
  s = reduce(s, ev(12, "breakouts.opened", { at: 1000, deadline: 2200 }));
  s = reduce(s, ev(13, "breakouts.warned", { at: 2140 }));
  s = reduce(s, ev(14, "breakouts.retimed", { deadline: 2500, paused_at: null }));
  assert.equal(s.breakouts.deadline, 2500);
  assert.equal(s.breakouts.warned, false); // more time: a new warning will come
  s = reduce(s, ev(15, "breakouts.retimed", { deadline: 2500, paused_at: 2300 }));
  assert.equal(s.breakouts.paused_at, 2300);
  assert.deepEqual(countdown(s.breakouts, 9999), { overrun: false, seconds: 200 }); // frozen
});

test("a new proposal starts a new round afresh", () => {
  let s = fromSnapshot(snapshot());
  s = reduce(s, proposed(11));
  s = reduce(s, ev(12, "breakouts.opened", { at: 1000, deadline: 2200 }));
  s = reduce(s, ev(13, "breakouts.broadcast", { text: "5 min", at: 1500, name: "Frida" }));
  s = reduce(s, ev(14, "breakouts.warned", { at: 2140 }));
  s = reduce(s, ev(15, "breakouts.recalled", { at: 2200 }));
  s = reduce(s, proposed(16, 2));
  assert.equal(s.breakouts.round, 2);
  assert.equal(s.breakouts.status, "proposed");
  assert.equal(s.breakouts.warned, false);
  assert.deepEqual(s.breakouts.broadcasts, []);
  assert.equal(groupNoteId(s.breakouts, "g2"), "r2-g2");
});

test("moving a member takes them out of their group and appends them to the other", () => {
  let s = fromSnapshot(snapshot());
  s = reduce(s, proposed(11));
  s = reduce(s, ev(12, "breakouts.member_moved", { member: bjorn, to_group: "g2", group_name: null }));
  assert.deepEqual(s.breakouts.groups[0].members, [alice]);
  assert.deepEqual(s.breakouts.groups[1].members.map((m) => m.person_id), [4, 5, 3]);
  assert.equal(groupOf(s, 3).id, "g2");
});

test("a late joiner is placed; a new group named in the event is created", () => {
  let s = fromSnapshot(snapshot());
  s = reduce(s, proposed(11));
  const erik = member(6, "Erik Eid", "Eid kommune", "videreforing");
  s = reduce(s, ev(12, "breakouts.member_moved", { member: erik, to_group: "g1" }));
  assert.deepEqual(s.breakouts.groups[0].members.map((m) => m.person_id), [2, 3, 6]);
  const frode = member(7, "Frode Fjell", "Fjell kommune", "videreforing");
  s = reduce(s, ev(13, "breakouts.member_moved", { member: frode, to_group: "g3", group_name: "Gruppe 3" }));
  assert.equal(s.breakouts.groups.length, 3);
  assert.deepEqual(s.breakouts.groups[2], { id: "g3", name: "Gruppe 3", members: [frode] });
  // a group name for a group that exists already changes nothing but the members
  s = reduce(s, ev(14, "breakouts.member_moved", { member: erik, to_group: "g3", group_name: "Ny" }));
  assert.equal(s.breakouts.groups.length, 3);
  assert.equal(s.breakouts.groups[2].name, "Gruppe 3");
  assert.deepEqual(s.breakouts.groups[2].members.map((m) => m.person_id), [7, 6]);
  assert.deepEqual(s.breakouts.groups[0].members.map((m) => m.person_id), [2, 3]);
});

test("rename a group", () => {
  let s = fromSnapshot(snapshot());
  s = reduce(s, proposed(11));
  const before = s.breakouts.groups[1];
  s = reduce(s, ev(12, "breakouts.group_renamed", { group: "g1", name: "<b>Nybegynnere</b>" }));
  assert.equal(s.breakouts.groups[0].name, "<b>Nybegynnere</b>");
  assert.equal(s.breakouts.groups[1], before);
});

test("broadcasts are kept in order, the newest ones only", () => {
  let s = fromSnapshot(snapshot());
  s = reduce(s, proposed(11));
  s = reduce(s, ev(12, "breakouts.opened", { at: 1000, deadline: 2200 }));
  for (let i = 0; i < BROADCASTS_KEPT + 3; i += 1) {
    s = reduce(s, ev(13 + i, "breakouts.broadcast", { text: `b${i}`, at: 1000 + i, name: "Frida" }));
  }
  assert.equal(s.breakouts.broadcasts.length, BROADCASTS_KEPT);
  assert.equal(s.breakouts.broadcasts[0].text, "b3");
  assert.deepEqual(s.breakouts.broadcasts.at(-1), { text: `b${BROADCASTS_KEPT + 2}`, at: 1000 + BROADCASTS_KEPT + 2,
    name: "Frida" });
});

test("breakout events without breakouts only advance the version", () => {
  const s0 = Object.freeze(fromSnapshot(snapshot()));
  for (const [type, data] of [["breakouts.opened", { at: 1, deadline: 2 }], ["breakouts.warned", { at: 1 }],
    ["breakouts.recalled", { at: 1 }], ["breakouts.group_renamed", { group: "g1", name: "x" }],
    ["breakouts.broadcast", { text: "x", at: 1, name: "F" }],
    ["breakouts.member_moved", { member: alice, to_group: "g1" }]]) {
    const s1 = reduce(s0, ev(11, type, data));
    assert.equal(s1.breakouts, null, type);
    assert.equal(s1.version, 11, type);
  }
});

test("the input state is never mutated", () => {
  const s0 = fromSnapshot(snapshot());
  const s1 = reduce(s0, proposed(11));
  const frozen = structuredClone(s1);
  reduce(s1, ev(12, "breakouts.member_moved", { member: bjorn, to_group: "g2" }));
  reduce(s1, ev(12, "breakouts.group_renamed", { group: "g1", name: "x" }));
  reduce(s1, ev(12, "breakouts.opened", { at: 1000, deadline: 2200 }));
  assert.deepEqual(s1, frozen);
});

test("pause and resume: the countdown stands still, then the deadline moves by the pause", () => {
  let s = fromSnapshot(snapshot());
  s = reduce(s, ev(11, "agenda.item_started", { index: 1, item_id: 12, started_at: 1000, planned_seconds: 1200 }));
  assert.deepEqual(s.current, { index: 1, item_id: 12, started_at: 1000, planned_seconds: 1200, extended_seconds: 0,
    paused_at: null, paused_seconds: 0, warned: false, deadline: 2200 });
  assert.equal(isPaused(s), false);
  s = reduce(s, ev(12, "agenda.item_paused", { index: 1, at: 1100 }));
  assert.ok(isPaused(s));
  assert.equal(s.current.deadline, 2200); // as of the pause
  assert.deepEqual(countdown(s.current, 1500), { overrun: false, seconds: 1100 });
  s = reduce(s, ev(13, "agenda.item_resumed", { index: 1, at: 1400, paused_seconds: 300 }));
  assert.equal(isPaused(s), false);
  assert.equal(s.current.deadline, 2500);
  assert.deepEqual(countdown(s.current, 1500), { overrun: false, seconds: 1000 });
  s = reduce(s, ev(14, "agenda.item_extended", { index: 1, extended_seconds: 300 }));
  assert.equal(s.current.deadline, 2800);
  // a second pause adds up on the server; the event carries the total
  s = reduce(s, ev(15, "agenda.item_paused", { index: 1, at: 1600 }));
  s = reduce(s, ev(16, "agenda.item_resumed", { index: 1, at: 1700, paused_seconds: 400 }));
  assert.equal(s.current.deadline, 2900);
});

test("the one-minute warning is remembered; extending allows a new one", () => {
  let s = fromSnapshot(snapshot());
  s = reduce(s, ev(11, "agenda.item_started", { index: 0, item_id: 11, started_at: 1000, planned_seconds: 600 }));
  s = reduce(s, ev(12, "agenda.item_warned", { index: 0, at: 1540 }));
  assert.equal(s.current.warned, true);
  s = reduce(s, ev(13, "agenda.item_extended", { index: 0, extended_seconds: 300 }));
  assert.equal(s.current.warned, false);
  assert.equal(s.current.deadline, 1900);
  s = reduce(s, ev(14, "agenda.item_started", { index: 1, item_id: 12, started_at: 1600, planned_seconds: 1200 }));
  assert.equal(s.current.warned, false);
});

test("timer events without a current item change nothing but the version", () => {
  const s0 = fromSnapshot(snapshot());
  for (const type of ["agenda.item_paused", "agenda.item_resumed", "agenda.item_warned", "agenda.item_extended"]) {
    const s1 = reduce(s0, ev(11, type, { index: 0, at: 1, paused_seconds: 1, extended_seconds: 60 }));
    assert.equal(s1.current, null, type);
    assert.equal(s1.version, 11);
  }
});

// --- what is announced (breakouts.js) and what the console says (breakout-controls.js) ---------

const { breakoutAnnouncements, groupCountdownText } = await import("../src/breakouts.js");
const { statusText } = await import("../src/breakout-controls.js");

const states = (youRole = "participant") => {
  let s = fromSnapshot(snapshot({ you: { ...alice, role: youRole } }));
  const seq = [s];
  const push = (e) => { s = reduce(s, e); seq.push(s); return s; };
  return { seq, push, get now() { return s; } };
};

test("opening the groups tells each participant their group", () => {
  const run = states();
  const proposedState = run.push(proposed(11));
  assert.deepEqual(breakoutAnnouncements(proposedState, run.seq[0], 2).said, []);
  const open = run.push(ev(12, "breakouts.opened", { at: 1000, deadline: 2200 }));
  assert.deepEqual(breakoutAnnouncements(open, proposedState, 2).said,
    ["Breakout groups are open. You are in Oppstart."]);
  // someone in no group hears that the groups opened
  assert.deepEqual(breakoutAnnouncements(open, proposedState, 99).said, ["Breakout groups are open."]);
  // nothing new: nothing said
  assert.deepEqual(breakoutAnnouncements(open, open, 2).said, []);
});

test("being moved or placed late is announced to that person only", () => {
  const run = states();
  run.push(proposed(11));
  const open = run.push(ev(12, "breakouts.opened", { at: 1000, deadline: 2200 }));
  const moved = run.push(ev(13, "breakouts.member_moved", { member: alice, to_group: "g2" }));
  assert.deepEqual(breakoutAnnouncements(moved, open, 2).said, ["You are now in Gjennomføring."]);
  assert.deepEqual(breakoutAnnouncements(moved, open, 3).said, []);
  const erik = member(6, "Erik Eid", "Eid kommune", "videreforing");
  const placed = run.push(ev(14, "breakouts.member_moved", { member: erik, to_group: "g3", group_name: "Gruppe 3" }));
  assert.deepEqual(breakoutAnnouncements(placed, moved, 6).said, ["You are now in Gruppe 3."]);
});

test("the one-minute warning and the recall are announced once", () => {
  const run = states();
  run.push(proposed(11));
  const open = run.push(ev(12, "breakouts.opened", { at: 1000, deadline: 2200 }));
  const warned = run.push(ev(13, "breakouts.warned", { at: 2140 }));
  assert.deepEqual(breakoutAnnouncements(warned, open, 2),
    { said: ["One minute left in the breakout groups."], warned: true });
  const later = run.push(ev(14, "chat.posted", { ...alice, text: "hei", at: 2150 }));
  assert.deepEqual(breakoutAnnouncements(later, warned, 2), { said: [], warned: false });
  const recalled = run.push(ev(15, "breakouts.recalled", { at: 2200 }));
  assert.deepEqual(breakoutAnnouncements(recalled, later, 2).said, ["Everyone is called back to plenary."]);
  assert.deepEqual(breakoutAnnouncements(recalled, recalled, 2).said, []);
});

test("each new message to the groups is announced once, to the people in the groups", () => {
  const say = (role) => {
    const run = states(role);
    run.push(proposed(11));
    const open = run.push(ev(12, "breakouts.opened", { at: 1000, deadline: 2200 }));
    const sent = run.push(ev(13, "breakouts.broadcast", { text: "Fem minutter igjen", at: 1900, name: "Frida" }));
    const again = run.push(ev(14, "chat.posted", { ...alice, text: "hei", at: 1910 }));
    // a catch-up brings the same messages as new objects: still nothing new
    const caughtUp = { ...again, breakouts: { ...again.breakouts,
      broadcasts: again.breakouts.broadcasts.map((b) => ({ ...b })) } };
    return [breakoutAnnouncements(sent, open, 2).said, breakoutAnnouncements(again, sent, 2).said,
      breakoutAnnouncements(caughtUp, again, 2).said];
  };
  assert.deepEqual(say("participant"), [["Message to all groups from Frida: Fem minutter igjen"], [], []]);
  assert.deepEqual(say("observer")[0], ["Message to all groups from Frida: Fem minutter igjen"]);
  // the console sent it, and shows it in its own list
  assert.deepEqual(say("facilitator")[0], []);
});

test("self-select: a participant without a group is asked to choose", () => {
  let s = fromSnapshot(snapshot());
  s = reduce(s, ev(11, "breakouts.proposed", { round: 1, item_id: 12, plan: { ...plan, rule: "self_select" },
    groups: [{ id: "g1", name: "Gruppe 1", members: [] }, { id: "g2", name: "Gruppe 2", members: [] }] }));
  const open = reduce(s, ev(12, "breakouts.opened", { at: 1000, deadline: 2200 }));
  assert.deepEqual(breakoutAnnouncements(open, s, 2).said, ["Breakout groups are open. Choose a group."]);
  const chosen = reduce(open, ev(13, "breakouts.member_moved", { member: alice, to_group: "g2" }));
  assert.deepEqual(breakoutAnnouncements(chosen, open, 2).said, ["You are now in Gruppe 2."]);
});

test("the groups' countdown and the console's status", () => {
  const run = states("facilitator");
  assert.equal(statusText(run.now.breakouts), "No breakout groups yet.");
  const p = run.push(proposed(11));
  assert.equal(statusText(p.breakouts), "Proposed: 2 groups (Same project stage). Adjust them, then open them.");
  assert.equal(groupCountdownText(p.breakouts, 1000), "");
  const open = run.push(ev(12, "breakouts.opened", { at: 1000, deadline: 2200 }));
  assert.equal(statusText(open.breakouts), "Open: 2 groups are working.");
  assert.equal(groupCountdownText(open.breakouts, 1000), "20:00 left in the groups");
  assert.equal(groupCountdownText(open.breakouts, 2300), "00:00 left in the groups");
  const back = run.push(ev(13, "breakouts.recalled", { at: 2200 }));
  assert.equal(statusText(back.breakouts), "Everyone is back in plenary.");
  assert.equal(groupCountdownText(back.breakouts, 2200), "");
});

test("one group is one group, in the console's status", () => {
  const one = (status) => ({ status, plan, groups: [{ id: "g1", name: "Gruppe 1", members: [] }] });
  assert.equal(statusText(one("proposed")),
    "Proposed: 1 group (Same project stage). Adjust it, then open it.");
  assert.equal(statusText(one("open")), "Open: 1 group is working.");
});
