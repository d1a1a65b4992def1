import assert from "node:assert/strict";
import { test } from "node:test";

import {
  capped, diffPublishers, inPlenary, MAX_BITRATE, mayShareScreen, publishReason, readListen, readPublishers,
  readTracks, tracksByPerson,
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

test("publishers diff: added, removed, and whether to listen again", () => {
  const a = { person_id: "1", name: "A", kinds: ["audio", "video"] };
  const b = { person_id: "2", name: "B", kinds: ["audio", "video"] };
  assert.deepEqual(diffPublishers([a], [a, b]), { added: [b], removed: [], changed: true });
  assert.deepEqual(diffPublishers([a, b], [b]), { added: [], removed: ["1"], changed: true });
  assert.equal(diffPublishers([a, b], [a, b]).changed, false);
  assert.equal(diffPublishers([a, b], [{ ...a, name: "Renamed" }, b]).changed, false, "a new name needs no new offer");
  assert.equal(diffPublishers([a, b], [b, a]).changed, true, "another order: listen again, the server offers anew");
  assert.equal(diffPublishers([a], [{ ...a, kinds: ["audio"] }]).changed, true);
});

test("the listen answer's tracks say which publisher each mid carries", () => {
  assert.deepEqual(readTracks(undefined), [], "none said: no track is shown");
  assert.deepEqual(readTracks([{ mid: "0", peer: "s1", person_id: 5, kind: "video" }, { mid: 1, person_id: 5 },
    { mid: "4", person_id: null, kind: "audio" }]), [{ mid: "0", person_id: "5", kind: "video" }]);
});

const offer = { type: "offer", sdp: "v=0\r\n" };
const frida = { peer: "s1", person_id: 3, name: "Frida", kinds: ["audio", "video"] };

test("a listen answer brings the server's offer, the publishers and their tracks", () => {
  const heard = readListen({ ok: true, description: offer, publishers: [frida],
    tracks: [{ mid: "0", peer: "s1", person_id: 3, kind: "audio" },
      { mid: "1", peer: "s1", person_id: 3, kind: "video" }] });
  assert.deepEqual(heard.offer, offer);
  assert.deepEqual(heard.publishers, [{ person_id: "3", name: "Frida", kinds: ["audio", "video"] }]);
  assert.deepEqual(heard.tracks.map((t) => t.mid), ["0", "1"]);
});

test("nobody on stage: no offer, so no connection, and no tracks", () => {
  assert.deepEqual(readListen({ ok: true, description: null, publishers: [], tracks: [] }),
    { offer: null, publishers: [], tracks: [] });
});

test("a refused or strange listen answer is no answer: listen again later", () => {
  assert.equal(readListen({ ok: false, error: { code: "rejected" } }), null);
  assert.equal(readListen(undefined), null);
  assert.equal(readListen({ ok: true }), null, "the description must be there, null or an offer");
  assert.equal(readListen({ ok: true, description: { type: "answer", sdp: "v=0" } }), null,
    "the old flow's answer: the server must offer");
  assert.equal(readListen({ ok: true, description: { type: "offer" } }), null);
});

// the listener's transceivers once the server's offer is set: each carries a mid
const transceiver = (mid, label) => ({ mid, receiver: { track: { label } } });

test("each publisher's tracks are found by the mids the server named, not by m-line order", () => {
  const transceivers = [transceiver("a", "bjorn audio"), transceiver("v", "frida video"),
    transceiver("x", "frida audio"), transceiver(null, "stopped")];
  const tracks = readTracks([
    { mid: "x", person_id: 3, kind: "audio" }, { mid: "v", person_id: 3, kind: "video" },
    { mid: "a", person_id: 4, kind: "audio" }, { mid: "gone", person_id: 5, kind: "video" }]);
  const people = tracksByPerson(tracks, transceivers, "9");
  assert.deepEqual([...people.keys()], ["3", "4"], "a mid no transceiver carries is left out");
  assert.deepEqual(people.get("3").map((t) => t.label), ["frida audio", "frida video"]);
  assert.deepEqual(people.get("4").map((t) => t.label), ["bjorn audio"]);
});

test("my own tracks on stage are not played back to me", () => {
  const tracks = readTracks([{ mid: "0", person_id: 9, kind: "video" }, { mid: "1", person_id: 3, kind: "video" }]);
  const people = tracksByPerson(tracks, [transceiver("0", "me"), transceiver("1", "frida")], 9);
  assert.deepEqual([...people.keys()], ["3"]);
});

test("the publisher's video is capped at 800 kbit/s and its audio at 64 kbit/s", () => {
  const parameters = { transactionId: "t1", encodings: [{ active: true }], codecs: [] };
  assert.deepEqual(capped(parameters, "video"),
    { transactionId: "t1", encodings: [{ active: true, maxBitrate: 800_000 }], codecs: [] });
  assert.equal(capped(parameters, "audio").encodings[0].maxBitrate, 64_000);
  assert.deepEqual(MAX_BITRATE, { video: 800_000, audio: 64_000 });
  assert.equal(parameters.encodings[0].maxBitrate, undefined, "the sender's own parameters are left alone");
  assert.deepEqual(capped({ transactionId: "t2", encodings: [] }, "video").encodings, [],
    "no encoding is added: setParameters refuses a changed number of them");
});
