import assert from "node:assert/strict";
import { test } from "node:test";

import { constraintsFor, deviceOptions, LocalMedia, STAGE_VIDEO_CONSTRAINTS } from "../src/media/local-media.js";
import { Mesh } from "../src/media/mesh.js";
import { PeerLink } from "../src/media/peer-link.js";
import {
  applyMediaMessage, decideOnDescription, diffPeers, endsMyJoin, groupIdOf, iceRefreshDelayMs,
  isPolite, keepInMesh, meshKey, meshKeyFor, mustQueueCandidate, peersFromJoin,
} from "../src/media/negotiation.js";
import { levelOf, nextSpeaking } from "../src/media/speaking.js";
import { tick } from "./fakes.js";

// --- perfect negotiation ---------------------------------------------------------------------

test("exactly one of two peers is polite, whatever the order", () => {
  assert.equal(isPolite("a1", "b2"), true);
  assert.equal(isPolite("b2", "a1"), false);
  assert.notEqual(isPolite("x", "y"), isPolite("y", "x"));
});

const decide = (over) => decideOnDescription({
  type: "offer", polite: true, makingOffer: false, signalingState: "stable", ...over,
});

test("an offer in a stable state is applied and answered", () => {
  assert.deepEqual(decide({}), { ignore: false, collision: false, rollback: false, answerPending: false, reply: true });
});

test("crossing offers: the impolite peer ignores, the polite one rolls back and answers", () => {
  const impolite = decide({ polite: false, signalingState: "have-local-offer" });
  assert.equal(impolite.ignore, true);
  assert.equal(impolite.collision, true);
  const polite = decide({ polite: true, signalingState: "have-local-offer" });
  assert.deepEqual(polite, { ignore: false, collision: true, rollback: true, answerPending: false, reply: true });
});

test("an offer while our own is being made collides even in a stable state", () => {
  assert.equal(decide({ polite: false, makingOffer: true }).ignore, true);
  const polite = decide({ polite: true, makingOffer: true });
  assert.equal(polite.collision, true);
  assert.equal(polite.rollback, false); // nothing set locally yet: setRemoteDescription rolls back
  assert.equal(polite.reply, true);
});

test("an offer while an answer is being applied is no collision", () => {
  const d = decide({ polite: false, signalingState: "have-local-offer", isSettingRemoteAnswerPending: true });
  assert.equal(d.ignore, false);
  assert.equal(d.collision, false);
});

test("an answer to our offer is applied with the pending flag, and not answered", () => {
  const d = decide({ type: "answer", signalingState: "have-local-offer" });
  assert.deepEqual(d, { ignore: false, collision: false, rollback: false, answerPending: true, reply: false });
});

test("a stale answer (our offer was rolled back) is ignored", () => {
  assert.equal(decide({ type: "answer", signalingState: "stable" }).ignore, true);
});

test("remote candidates wait for the remote description", () => {
  assert.equal(mustQueueCandidate(null), true);
  assert.equal(mustQueueCandidate({ type: "offer", sdp: "v=0" }), false);
});

// --- membership --------------------------------------------------------------------------

test("diffPeers opens links to new peers and closes links to peers no longer allowed", () => {
  assert.deepEqual(diffPeers(["a", "b"], ["b", "c"]), { add: ["c"], remove: ["a"] });
  assert.deepEqual(diffPeers([], []), { add: [], remove: [] });
  assert.deepEqual(diffPeers(new Map([["a", 1]]).keys(), ["a"]), { add: [], remove: [] });
});

test("join answer and pushed media messages give the allowed peers, never myself", () => {
  const peers = peersFromJoin({ ok: true, peer: "me", peers: [
    { peer: "p2", person_id: 2, name: "Bjørn" }, { peer: "me", person_id: 1, name: "Alice" }] });
  assert.deepEqual([...peers.keys()], ["p2"]);
  const joined = applyMediaMessage(peers, { type: "peer_joined", peer: "p3", person_id: 3, name: "<b>Cecilie</b>" }, "me");
  assert.deepEqual([...joined.keys()], ["p2", "p3"]);
  assert.equal(joined.get("p3").name, "<b>Cecilie</b>");
  assert.deepEqual([...applyMediaMessage(joined, { type: "peer_left", peer: "p2" }, "me").keys()], ["p3"]);
  assert.deepEqual([...applyMediaMessage(joined, { type: "peer_joined", peer: "me" }, "me").keys()], ["p2", "p3"]);
  assert.equal(peers.size, 1); // not changed in place
});

const member = (person_id) => ({ person_id, name: `P${person_id}` });
const state = (status, groups, phase = "live", round = 1) => ({
  phase, breakouts: { round, status, groups },
});

test("meshKey: a mesh only in my open group; a move or a new round is a new mesh", () => {
  const groups = [{ id: "g1", members: [member(1), member(2)] }, { id: "g2", members: [member(3)] }];
  assert.equal(meshKey(state("open", groups), 1), "1:g1");
  assert.equal(meshKey(state("open", groups), 3), "1:g2");
  assert.equal(meshKey(state("open", groups), 9), null);
  assert.equal(meshKey(state("proposed", groups), 1), null);
  assert.equal(meshKey(state("recalled", groups), 1), null);
  assert.equal(meshKey(state("open", groups, "ended"), 1), null);
  assert.equal(meshKey({ phase: "live", breakouts: null }, 1), null);
  assert.equal(meshKey(state("open", groups, "live", 2), 1), "2:g1");
});

test("meshKeyFor: the mesh of a named open group (a visit), never of a missing one", () => {
  const groups = [{ id: "g1", members: [member(1)] }, { id: "g2", members: [] }];
  assert.equal(meshKeyFor(state("open", groups), "g2"), "1:g2");
  assert.equal(meshKeyFor(state("open", groups, "live", 3), "g1"), "3:g1");
  assert.equal(meshKeyFor(state("open", groups), "g9"), null);
  assert.equal(meshKeyFor(state("open", groups), null), null);
  assert.equal(meshKeyFor(state("recalled", groups), "g1"), null);
  assert.equal(meshKeyFor(state("open", groups, "paused"), "g1"), null);
  assert.equal(groupIdOf(state("open", groups), 1), "g1");
  assert.equal(groupIdOf(state("open", groups), 9), null);
  assert.equal(groupIdOf(state("proposed", groups), 1), null);
});

test("keepInMesh: my group's members and people in no group (a visiting runner)", () => {
  const groups = [{ id: "g1", members: [member(1), member(2)] }, { id: "g2", members: [member(3)] }];
  const keep = keepInMesh(state("open", groups), "g1");
  assert.equal(keep(2), true);
  assert.equal(keep(7), true); // the facilitator, in no group, visiting
  assert.equal(keep(3), false); // moved to another group
  const visiting = keepInMesh(state("open", groups), "g2");
  assert.deepEqual([1, 3, 7].map(visiting), [false, true, true]);
});

test("ICE servers are refreshed before their time-to-live runs out", () => {
  assert.equal(iceRefreshDelayMs(3600), 2700 * 1000);
  assert.equal(iceRefreshDelayMs(2), 5000);
  assert.equal(iceRefreshDelayMs(undefined), null);
  assert.equal(iceRefreshDelayMs(0), null);
});

// --- local media and speaking ------------------------------------------------------------

test("constraints ask for 640x360 and an exact device when one is chosen", () => {
  assert.deepEqual(constraintsFor(), { audio: true, video: { width: { ideal: 640 }, height: { ideal: 360 } } });
  const chosen = constraintsFor({ audio: false, videoDevice: "cam2" });
  assert.equal(chosen.audio, false);
  assert.deepEqual(chosen.video.deviceId, { exact: "cam2" });
});

test("device options keep labels and number the hidden ones", () => {
  const devices = [
    { kind: "videoinput", deviceId: "c1", label: "Front camera" },
    { kind: "videoinput", deviceId: "c2", label: "" },
    { kind: "audioinput", deviceId: "m1", label: "Mic" },
    { kind: "videoinput", deviceId: "", label: "" },
  ];
  assert.deepEqual(deviceOptions(devices, "videoinput", "Kamera"),
    [{ id: "c1", label: "Front camera" }, { id: "c2", label: "Kamera 2" }]);
});

test("the speaking level is the RMS of the samples; the ring holds through short pauses", () => {
  assert.equal(levelOf(new Float32Array(0)), 0);
  assert.ok(Math.abs(levelOf(Float32Array.from([0.5, -0.5])) - 0.5) < 1e-9);
  let s = { speaking: false, quietSince: null };
  s = nextSpeaking(s, 0.05, 0);
  assert.equal(s.speaking, true);
  s = nextSpeaking(s, 0.015, 100); // between the thresholds: still speaking
  assert.equal(s.speaking, true);
  s = nextSpeaking(s, 0.001, 200);
  assert.equal(s.speaking, true);
  s = nextSpeaking(s, 0.001, 500);
  assert.equal(s.speaking, true);
  s = nextSpeaking(s, 0.001, 800);
  assert.equal(s.speaking, false);
  assert.equal(nextSpeaking({ speaking: false, quietSince: null }, 0.015, 0).speaking, false);
});

// --- the mesh with a fake transport and fake links ----------------------------------------

class FakeTransport {
  constructor(answer) {
    this.answer = answer;
    this.handlers = {};
    this.sent = [];
  }

  on(name, handler) { this.handlers[name] = handler; return () => delete this.handlers[name]; }
  join(fields) { this.sent.push("join"); this.joined = fields; return Promise.resolve(this.answer); }
  leave() { this.sent.push("leave"); return Promise.resolve({ ok: true }); }
  ice() { return Promise.resolve({ ok: true, ice_servers: [], ice_ttl: 60 }); }
  signal(fields) { this.sent.push(fields); return Promise.resolve({ ok: true }); }
}

class FakeLink {
  constructor(options) {
    Object.assign(this, options);
    this.received = [];
    this.closed = false;
    this.pc = { peer: options.peer };
  }

  receive(signal) { this.received.push(signal); }
  close() { this.closed = true; }
  setIceServers(servers) { this.iceServers = servers; }
}

test("the mesh links to the allowed peers, follows joins and leaves, and holds early signals", async () => {
  const transport = new FakeTransport({ ok: true, peer: "m", ice_servers: [], ice_ttl: 0,
    peers: [{ peer: "a", person_id: 2, name: "A" }, { peer: "z", person_id: 3, name: "Z" }] });
  const gone = [];
  const mesh = new Mesh({ transport, localMedia: null, PeerLinkClass: FakeLink, onRemoteGone: (p) => gone.push(p) });
  await mesh.join();
  assert.deepEqual(mesh.links().map((pc) => pc.peer), ["a", "z"]);
  const [a, z] = [mesh.linksByPeer.get("a"), mesh.linksByPeer.get("z")];
  assert.equal(a.polite, false); // "m" > "a"
  assert.equal(z.polite, true);

  // a signal from someone not announced yet waits for their peer_joined
  transport.handlers.signal({ gathering: "g", from: "q", description: { type: "offer", sdp: "x" } });
  assert.equal(mesh.linksByPeer.has("q"), false);
  transport.handlers.media({ gathering: "g", type: "peer_joined", peer: "q", person_id: 4, name: "Q" });
  assert.deepEqual(mesh.linksByPeer.get("q").received, [{ description: { type: "offer", sdp: "x" }, candidate: undefined }]);

  // a link sends through the transport, addressed to its peer
  a.send({ candidate: { candidate: "c" } });
  assert.deepEqual(transport.sent.at(-1), { to: "a", candidate: { candidate: "c" } });

  transport.handlers.media({ gathering: "g", type: "peer_left", peer: "a" });
  assert.equal(a.closed, true);
  assert.deepEqual(gone, ["a"]);

  // join again (I moved group): only the new group's peers stay
  transport.answer = { ok: true, peer: "m", ice_servers: [{ urls: "turn:x" }], peers: [{ peer: "q", name: "Q" }] };
  await mesh.join();
  assert.deepEqual(mesh.links().map((pc) => pc.peer), ["q"]);
  assert.equal(z.closed, true);
  assert.deepEqual(mesh.linksByPeer.get("q").iceServers, [{ urls: "turn:x" }]);

  await mesh.leave();
  assert.equal(mesh.links().length, 0);
  assert.equal(transport.sent.at(-1), "leave");
  await tick();
});

test("a new peer id after a reconnect closes the old links", async () => {
  const transport = new FakeTransport({ ok: true, peer: "m1", peers: [{ peer: "a", name: "A" }] });
  const mesh = new Mesh({ transport, localMedia: null, PeerLinkClass: FakeLink });
  await mesh.join();
  const old = mesh.linksByPeer.get("a");
  transport.answer = { ok: true, peer: "m2", peers: [{ peer: "a", name: "A" }] };
  await mesh.join();
  assert.equal(old.closed, true);
  assert.notEqual(mesh.linksByPeer.get("a"), old);
  await mesh.destroy();
});

test("a refused join leaves the mesh empty", async () => {
  const transport = new FakeTransport({ ok: false, error: { code: "forbidden" } });
  const mesh = new Mesh({ transport, localMedia: null, PeerLinkClass: FakeLink });
  const answer = await mesh.join();
  assert.equal(answer.ok, false);
  assert.equal(mesh.joined, false);
  assert.equal(mesh.links().length, 0);
});

test("links to people who left my group close; the others stay", async () => {
  const transport = new FakeTransport({ ok: true, peer: "m", peers: [
    { peer: "a", person_id: 2, name: "A" }, { peer: "b", person_id: 3, name: "B" }] });
  const mesh = new Mesh({ transport, localMedia: null, PeerLinkClass: FakeLink });
  await mesh.join();
  const b = mesh.linksByPeer.get("b");
  const groups = [{ id: "g1", members: [member(1), member(2)] }, { id: "g2", members: [member(3)] }];
  mesh.restrictTo(keepInMesh(state("open", groups), "g1"));
  assert.deepEqual(mesh.links().map((pc) => pc.peer), ["a"]);
  assert.equal(b.closed, true);
  await mesh.destroy();
});

test("a visiting runner's link stays while the group's state changes", async () => {
  const transport = new FakeTransport({ ok: true, peer: "m", peers: [
    { peer: "a", person_id: 2, name: "A" }, { peer: "f", person_id: 7, name: "Frida" }] });
  const mesh = new Mesh({ transport, localMedia: null, PeerLinkClass: FakeLink });
  await mesh.join();
  const groups = [{ id: "g1", members: [member(1), member(2), member(4)] }];
  mesh.restrictTo(keepInMesh(state("open", groups), "g1"));
  assert.deepEqual(mesh.links().map((pc) => pc.peer), ["a", "f"]);
  await mesh.destroy();
});

test("joining as a visitor names the group; a member names none", async () => {
  const transport = new FakeTransport({ ok: true, peer: "m", peers: [] });
  const mesh = new Mesh({ transport, localMedia: null, PeerLinkClass: FakeLink });
  await mesh.join({ group: "g2" });
  assert.deepEqual(transport.joined, { group: "g2" });
  await mesh.join();
  assert.deepEqual(transport.joined, {});
  await mesh.destroy();
});

test("a replaced ends my join only when it names my peer and this join of it", () => {
  const replaced = { gathering: "g", type: "replaced", peer: "m", presence: "j2" };
  assert.equal(endsMyJoin(replaced, "m", "j2"), true);
  assert.equal(endsMyJoin(replaced, "m", "j3"), false); // an earlier join: taken back since
  assert.equal(endsMyJoin(replaced, "x", "j2"), false);
  assert.equal(endsMyJoin(replaced, null, null), false);
  assert.equal(endsMyJoin({ ...replaced, presence: undefined }, "m", "j2"), true);
  assert.equal(endsMyJoin({ type: "peer_left", peer: "m" }, "m", "j2"), false);
});

test("another tab of mine takes my place: the links close, no leave is sent, the page is told", async () => {
  const transport = new FakeTransport({ ok: true, peer: "m", presence: "j1", ice_ttl: 60,
    peers: [{ peer: "a", person_id: 2, name: "A" }] });
  let told = 0;
  const mesh = new Mesh({ transport, localMedia: null, PeerLinkClass: FakeLink, onReplaced: () => { told += 1; } });
  await mesh.join();
  const link = mesh.linksByPeer.get("a");
  transport.handlers.media({ gathering: "g", type: "replaced", peer: "other", presence: "j9" });
  assert.equal(mesh.joined, true);
  transport.handlers.media({ gathering: "g", type: "replaced", peer: "m", presence: "j1" });
  assert.equal(told, 1);
  assert.equal(mesh.joined, false);
  assert.equal(link.closed, true);
  assert.equal(mesh.links().length, 0);
  await mesh.leave(); // nothing to leave: the server dropped my peer already
  assert.deepEqual(transport.sent, ["join"]);
});

test("a replaced that comes while my join is on its way: only one naming this join ends it", async () => {
  const transport = new FakeTransport(null);
  let told = 0;
  const mesh = new Mesh({ transport, localMedia: null, PeerLinkClass: FakeLink, onReplaced: () => { told += 1; } });
  const joinAfter = (presence, replacedPresence) => {
    transport.join = () => {
      transport.handlers.media({ gathering: "g", type: "replaced", peer: "m", presence: replacedPresence });
      return Promise.resolve({ ok: true, peer: "m", presence, peers: [{ peer: "a", person_id: 2, name: "A" }] });
    };
  };
  joinAfter("j2", "j1"); // the other tab replaced my earlier join; this one took it back
  await mesh.join();
  assert.equal(told, 0);
  assert.deepEqual(mesh.links().map((pc) => pc.peer), ["a"]);
  joinAfter("j3", "j3"); // the other tab replaced this very join
  await mesh.join();
  assert.equal(told, 1);
  assert.equal(mesh.joined, false);
  assert.equal(mesh.links().length, 0);
});

// --- PeerLink against a fake RTCPeerConnection ----------------------------------------------

class FakePC {
  constructor() {
    this.signalingState = "stable";
    this.localDescription = null;
    this.remoteDescription = null;
    this.calls = [];
    this.candidates = [];
  }

  addTrack(track) { this.calls.push(`addTrack ${track.kind}`); }
  addTransceiver(kind, init) { this.calls.push(`addTransceiver ${kind} ${init.direction}`); }
  async setRemoteDescription(d) {
    this.calls.push(`setRemote ${d.type}`);
    this.remoteDescription = d;
    this.signalingState = d.type === "offer" ? "have-remote-offer" : "stable";
  }

  async setLocalDescription(d) {
    const type = d ? d.type : (this.signalingState === "have-remote-offer" ? "answer" : "offer");
    this.calls.push(`setLocal ${type}`);
    this.localDescription = { type, toJSON: () => ({ type, sdp: "v=0" }) };
    this.signalingState = type === "offer" ? "have-local-offer" : "stable";
  }

  async addIceCandidate(c) { this.candidates.push(c); }
  getSenders() { return []; }
  close() { this.calls.push("close"); }
}

const stream = { getTracks: () => [{ kind: "audio" }, { kind: "video" }] };

test("the impolite side offers first; the polite side adds its media to the answer", async () => {
  const sent = [];
  const impolite = new PeerLink({ peer: "a", polite: false, stream, send: (m) => sent.push(m),
    RTCPeerConnectionClass: FakePC });
  assert.deepEqual(impolite.pc.calls, ["addTrack audio", "addTrack video"]);
  const polite = new PeerLink({ peer: "z", polite: true, stream, send: (m) => sent.push(m),
    RTCPeerConnectionClass: FakePC, firstOfferWaitMs: 60000 });
  assert.deepEqual(polite.pc.calls, []);
  // a candidate before the offer waits for it
  await polite.receive({ candidate: { candidate: "c1" } });
  assert.deepEqual(polite.pc.candidates, []);
  await polite.receive({ description: { type: "offer", sdp: "v=0" } });
  assert.deepEqual(polite.pc.calls, ["setRemote offer", "addTrack audio", "addTrack video", "setLocal answer"]);
  assert.deepEqual(polite.pc.candidates, [{ candidate: "c1" }]);
  assert.deepEqual(sent.at(-1), { description: { type: "answer", sdp: "v=0" } });
  polite.close();
  impolite.close();
});

test("an impolite side with no camera or microphone still offers to receive", () => {
  const link = new PeerLink({ peer: "a", polite: false, stream: { getTracks: () => [] }, send: () => {},
    RTCPeerConnectionClass: FakePC });
  assert.deepEqual(link.pc.calls, ["addTransceiver audio recvonly", "addTransceiver video recvonly"]);
  link.close();
});

test("an impolite side ignores a crossing offer and its candidates fail quietly", async () => {
  const link = new PeerLink({ peer: "a", polite: false, stream, send: () => {}, RTCPeerConnectionClass: FakePC });
  await link.negotiate();
  assert.equal(link.pc.signalingState, "have-local-offer");
  await link.receive({ description: { type: "offer", sdp: "v=0" } });
  assert.equal(link.ignoreOffer, true);
  assert.equal(link.pc.remoteDescription, null);
  link.close();
});

// --- LocalMedia with fake devices -------------------------------------------------------------

class FakeTrack {
  constructor(kind, device) { Object.assign(this, { kind, device, enabled: true, stopped: false }); }
  stop() { this.stopped = true; }
}

class FakeStream {
  constructor(tracks) { this.tracks = tracks; }
  getTracks() { return [...this.tracks]; }
  addTrack(t) { this.tracks.push(t); }
  removeTrack(t) { this.tracks = this.tracks.filter((x) => x !== t); }
}

test("mute and camera off keep the tracks (disabled); a new device keeps them off", async () => {
  const asked = [];
  const mediaDevices = {
    async getUserMedia(c) {
      asked.push(c);
      const tracks = [];
      if (c.audio) tracks.push(new FakeTrack("audio", c.audio.deviceId ? c.audio.deviceId.exact : "mic"));
      if (c.video) tracks.push(new FakeTrack("video", c.video.deviceId ? c.video.deviceId.exact : "cam"));
      return new FakeStream(tracks);
    },
    async enumerateDevices() { return []; },
  };
  const local = new LocalMedia({ mediaDevices });
  await local.start();
  assert.deepEqual(asked[0].video, { width: { ideal: 640 }, height: { ideal: 360 } });
  local.setMuted(true);
  local.setCameraOff(true);
  assert.equal(local.track("audio").enabled, false);
  assert.equal(local.track("video").enabled, false);
  const old = local.track("video");
  const fresh = await local.useDevice("video", "cam2");
  assert.equal(fresh.device, "cam2");
  assert.equal(old.stopped, true);
  assert.equal(local.track("video"), fresh);
  assert.equal(fresh.enabled, false); // still off
  assert.equal(asked[1].audio, false);
  local.stop();
  assert.equal(local.stream, null);
});

test("the stage's camera is at most 640×360 and 30 frames a second, also on another device", async () => {
  const asked = [];
  const mediaDevices = {
    async getUserMedia(c) {
      asked.push(c);
      return new FakeStream([c.audio && new FakeTrack("audio", "mic"), c.video && new FakeTrack("video", "cam")]
        .filter(Boolean));
    },
  };
  const local = new LocalMedia({ mediaDevices, camera: STAGE_VIDEO_CONSTRAINTS });
  await local.start();
  await local.useDevice("video", "cam2");
  const stage = {
    width: { ideal: 640, max: 640 }, height: { ideal: 360, max: 360 }, frameRate: { ideal: 24, max: 30 },
  };
  assert.deepEqual(asked[0].video, stage);
  assert.deepEqual(asked[1].video, { ...stage, deviceId: { exact: "cam2" } });
  assert.deepEqual(constraintsFor().video, { width: { ideal: 640 }, height: { ideal: 360 } },
    "the mesh's camera as before");
});

test("without a camera the microphone alone is used", async () => {
  const mediaDevices = {
    async getUserMedia(c) {
      if (c.video) throw new Error("NotFoundError");
      return new FakeStream([new FakeTrack("audio", "mic")]);
    },
  };
  const local = new LocalMedia({ mediaDevices });
  await local.start();
  assert.equal(local.track("video"), null);
  assert.ok(local.track("audio"));
});
