import assert from "node:assert/strict";
import { test } from "node:test";

import {
  diffPublishers, inPlenary, MAX_PUBLISHERS, mayShareScreen, publishReason, readPublishers, readTracks,
  slotsFor,
} from "../src/media/stage-state.js";

const state = (over = {}) => ({ phase: "live", breakouts: null, spotlight: null, speaker: null, ...over });
const you = (role, person_id = "7") => ({ person_id, role, name: "Me" });

test("in plenary: live and not in an open breakout group", () => {
  assert.equal(inPlenary(state(), "7"), true);
  assert.equal(inPlenary(state({ phase: "lobby" }), "7"), false);
  assert.equal(inPlenary(null, "7"), false);
  const breakouts = { status: "open", round: 1, groups: [{ id: "g1", members: [{ person_id: "7" }] }] };
  assert.equal(inPlenary(state({ breakouts }), "7"), false);
  assert.equal(inPlenary(state({ breakouts }), "8"), true, "not in a group: still in plenary");
  assert.equal(inPlenary(state({ breakouts: { ...breakouts, status: "proposed" } }), "7"), true);
});

test("who may publish: runners, the person in the spotlight, the person with the floor", () => {
  assert.equal(publishReason(state(), you("facilitator")), "runner");
  assert.equal(publishReason(state(), you("programme_lead")), "runner");
  assert.equal(publishReason(state(), you("participant")), null);
  assert.equal(publishReason(state(), you("expert")), null, "an expert only with the spotlight");
  assert.equal(publishReason(state({ spotlight: { person_id: "7", name: "Me" } }), you("expert")), "expert");
  assert.equal(publishReason(state({ spotlight: { person_id: "8", name: "X" } }), you("expert")), null);
  assert.equal(publishReason(state({ speaker: { person_id: "7", name: "Me" } }), you("participant")), "floor");
  assert.equal(publishReason(state({ speaker: { person_id: "8", name: "X" } }), you("participant")), null);
  assert.equal(publishReason(state({ phase: "ended" }), you("facilitator")), null);
  const breakouts = { status: "open", round: 1, groups: [{ id: "g1", members: [{ person_id: "7" }] }] };
  assert.equal(publishReason(state({ breakouts, speaker: { person_id: "7" } }), you("participant")), null,
    "in a breakout group: the mesh, not the stage");
});

test("screen sharing: runners and the spotlighted expert only", () => {
  assert.equal(mayShareScreen("runner"), true);
  assert.equal(mayShareScreen("expert"), true);
  assert.equal(mayShareScreen("floor"), false);
  assert.equal(mayShareScreen(null), false);
});

test("publishers are read defensively", () => {
  assert.deepEqual(readPublishers(null), []);
  assert.deepEqual(readPublishers([{ person_id: 3, name: "A", kinds: ["video", "data"] }, null, {}]),
    [{ person_id: "3", name: "A", kinds: ["video"] }]);
  assert.deepEqual(readPublishers([{ person_id: "4" }]), [{ person_id: "4", name: "", kinds: ["audio", "video"] }]);
});

test("m-lines of a kind carry the publishers with that kind, in publication order", () => {
  const publishers = readPublishers([
    { person_id: "1", name: "A", kinds: ["audio", "video"] },
    { person_id: "2", name: "B", kinds: ["audio"] },
    { person_id: "3", name: "C", kinds: ["video", "audio"] },
  ]);
  assert.deepEqual(slotsFor(publishers, "video"), ["1", "3", null, null]);
  assert.deepEqual(slotsFor(publishers, "audio"), ["1", "2", "3", null]);
  assert.equal(slotsFor([], "video").length, MAX_PUBLISHERS);
});

test("publishers diff: added, removed, and whether to listen again", () => {
  const a = { person_id: "1", name: "A", kinds: ["audio", "video"] };
  const b = { person_id: "2", name: "B", kinds: ["audio", "video"] };
  assert.deepEqual(diffPublishers([a], [a, b]), { added: [b], removed: [], changed: true });
  assert.deepEqual(diffPublishers([a, b], [b]), { added: [], removed: ["1"], changed: true });
  assert.equal(diffPublishers([a, b], [a, b]).changed, false);
  assert.equal(diffPublishers([a, b], [{ ...a, name: "Renamed" }, b]).changed, false, "a new name needs no new offer");
  assert.equal(diffPublishers([a, b], [b, a]).changed, true, "order decides the m-lines");
  assert.equal(diffPublishers([a], [{ ...a, kinds: ["audio"] }]).changed, true);
});

test("the listen answer's tracks say which publisher each mid carries", () => {
  assert.equal(readTracks(undefined), null, "not said: fall back to the m-line order");
  assert.deepEqual(readTracks([{ mid: "0", peer: "s1", person_id: 5, kind: "video" }, { mid: 1, person_id: 5 },
    { mid: "4", person_id: null, kind: "audio" }]), [{ mid: "0", person_id: "5", kind: "video" }]);
});
