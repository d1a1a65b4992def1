import assert from "node:assert/strict";
import { test } from "node:test";

import { GroupVisit, groupName, toggleVisit, visitedGroup } from "../src/media/visit.js";

const member = (person_id) => ({ person_id, name: `P${person_id}` });
const groups = [
  { id: "g1", name: "Oppstart", members: [member(1), member(2)] },
  { id: "g2", name: "Gjennomføring", members: [member(3)] },
];
const state = (status = "open", phase = "live") => ({ phase, breakouts: { round: 1, status, groups } });
const FRIDA = 9; // the facilitator, in no group

test("the toggle joins a group's video, leaves it, or moves to another group", () => {
  assert.equal(toggleVisit(null, "g1"), "g1");
  assert.equal(toggleVisit("g1", "g1"), null);
  assert.equal(toggleVisit("g1", "g2"), "g2"); // at most one group at a time
});

test("the visited group is the chosen one while it is open", () => {
  assert.equal(visitedGroup(state(), "g2", FRIDA), "g2");
  assert.equal(visitedGroup(state(), null, FRIDA), null);
  assert.equal(visitedGroup(state(), "g9", FRIDA), null); // no such group
  assert.equal(visitedGroup(state("recalled"), "g1", FRIDA), null);
  assert.equal(visitedGroup(state("open", "ended"), "g1", FRIDA), null);
  assert.equal(visitedGroup(null, "g1", FRIDA), null);
  // a facilitator who is a member of a group has their own group's video, not a visit
  assert.equal(visitedGroup(state(), "g2", 1), null);
});

test("the group's name, for the video's heading", () => {
  assert.equal(groupName(state(), "g2"), "Gjennomføring");
  assert.equal(groupName(state(), "g9"), "");
  assert.equal(groupName({ breakouts: null }, "g1"), "");
});

test("GroupVisit keeps one choice and says when it changes", () => {
  let changes = 0;
  const visit = new GroupVisit(() => { changes += 1; });
  assert.equal(visit.toggle("g1"), "g1");
  assert.equal(visit.target(state(), FRIDA), "g1");
  assert.equal(visit.toggle("g2"), "g2");
  assert.equal(visit.target(state("recalled"), FRIDA), null);
  visit.clear();
  assert.equal(visit.group, null);
  visit.clear(); // nothing chosen: no change
  assert.equal(changes, 3);
});
