import assert from "node:assert/strict";
import { test } from "node:test";

import { loadCatalogue } from "../src/i18n.js";
import {
  applyMediaState, localMediaState, mayMuteOthers, mergeMediaStates, muteLabel, readMediaState, stateFlags,
} from "../src/media/remote-state.js";

const fakeLocal = ({ audio = true, video = true, muted = false, cameraOff = false } = {}) => ({
  muted, cameraOff, track: (kind) => ((kind === "audio" ? audio : video) ? { kind } : null),
});

test("a media.state message is read with the person id as a string; anything else is dropped", () => {
  assert.deepEqual(readMediaState({ gathering: "g", person_id: 7, audio: false, video: true }),
    { person_id: "7", audio: false, video: true });
  assert.equal(readMediaState(null), null);
  assert.equal(readMediaState({ audio: true, video: true }), null);
  assert.equal(readMediaState({ person_id: 7, audio: "false", video: true }), null);
  assert.equal(readMediaState({ person_id: 7, audio: true }), null);
});

test("each pushed state replaces the person's last one, in a new map", () => {
  const before = new Map([["7", { audio: true, video: true }]]);
  const after = applyMediaState(before, { person_id: 7, audio: false, video: true });
  assert.notEqual(after, before);
  assert.deepEqual(before.get("7"), { audio: true, video: true });
  assert.deepEqual(after.get("7"), { audio: false, video: true });
  assert.equal(applyMediaState(after, { nonsense: true }), after);
});

test("a media.states answer is the truth, except for what was pushed while it was on its way", () => {
  const current = new Map([["7", { audio: false, video: true }], ["9", { audio: true, video: true }]]);
  const answer = [
    { gathering: "g", person_id: 7, audio: true, video: true },
    { gathering: "g", person_id: 8, audio: true, video: false },
    { gathering: "g", person_id: "bad" },
  ];
  const merged = mergeMediaStates(current, answer, new Set(["7"]));
  assert.deepEqual([...merged].sort(), [
    ["7", { audio: false, video: true }], // pushed meanwhile: newer than the answer
    ["8", { audio: true, video: false }],
  ]);
  assert.deepEqual([...mergeMediaStates(current, null)], []);
});

test("what a tab sends: a track that is there and enabled is on", () => {
  assert.deepEqual(localMediaState(fakeLocal()), { audio: true, video: true });
  assert.deepEqual(localMediaState(fakeLocal({ muted: true })), { audio: false, video: true });
  assert.deepEqual(localMediaState(fakeLocal({ cameraOff: true })), { audio: true, video: false });
  assert.deepEqual(localMediaState(fakeLocal({ audio: false, video: false })), { audio: false, video: false });
});

test("the flags show only what is known to be off", () => {
  assert.deepEqual(stateFlags(undefined), { microphoneOff: false, cameraOff: false });
  assert.deepEqual(stateFlags({ audio: false, video: true }), { microphoneOff: true, cameraOff: false });
  assert.deepEqual(stateFlags({ audio: true, video: false }), { microphoneOff: false, cameraOff: true });
});

test("only runners get the mute button", () => {
  assert.equal(mayMuteOthers({ role: "facilitator" }), true);
  assert.equal(mayMuteOthers({ role: "programme_lead" }), true);
  for (const role of ["participant", "expert", "observer"]) assert.equal(mayMuteOthers({ role }), false);
  assert.equal(mayMuteOthers(null), false);
});

test("the mute button names the person, translated", () => {
  loadCatalogue({ "Mute %(name)s": "Demp %(name)s", "this person": "denne personen" });
  try {
    assert.equal(muteLabel("Alice Askvik"), "Demp Alice Askvik");
    assert.equal(muteLabel(""), "Demp denne personen");
  } finally {
    loadCatalogue({});
  }
  assert.equal(muteLabel("<b>Eve</b>"), "Mute <b>Eve</b>"); // text, set as textContent
});
