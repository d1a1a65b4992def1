// The pure decisions of the plenary stage: who may publish (as the server decides), whether
// this person is in plenary, what a listen answer says (the server's offer, whose track each
// of its m-lines carries), what changed between two publisher lists, and the publisher's
// bitrate caps. No DOM, no RTCPeerConnection.

import { meshKey } from "./negotiation.js";

// What the stage publisher sends at most, bit/s: a municipal office connection can follow
// (the server caps the room at 800 kbit/s too; a screen share keeps the same cap).
export const MAX_BITRATE = { video: 800_000, audio: 64_000 };

export const RUNNER_ROLES = new Set(["facilitator", "programme_lead"]);

// In plenary: the room is live and I am not in an open breakout group.
export function inPlenary(state, personId) {
  return Boolean(state) && state.phase === "live" && meshKey(state, personId) === null;
}

// Why I may publish on the stage now, or null: "runner" (facilitator or programme lead),
// "expert" (the person in the spotlight: the expert whose slot runs), "floor" (I have the floor: state.speaker).
// Mirrors the server's rule for `stage.publish`.
export function publishReason(state, you) {
  if (!inPlenary(state, you && you.person_id)) return null;
  if (RUNNER_ROLES.has(you.role)) return "runner";
  if (state.spotlight && state.spotlight.person_id === you.person_id) return "expert";
  if (state.speaker && state.speaker.person_id === you.person_id) return "floor";
  return null;
}

// Screen sharing is for the runners and the spotlighted expert.
export const mayShareScreen = (reason) => reason === "runner" || reason === "expert";

// The publishers of a `stage` push (or a listen answer), cleaned: [{person_id, name, kinds}].
export function readPublishers(list) {
  if (!Array.isArray(list)) return [];
  return list.filter((p) => p && p.person_id != null).map((p) => ({
    person_id: String(p.person_id),
    name: typeof p.name === "string" ? p.name : "",
    kinds: Array.isArray(p.kinds) ? p.kinds.filter((k) => k === "audio" || k === "video") : ["audio", "video"],
  }));
}

// {added: [publisher], removed: [person_id], changed: boolean}: changed means the
// listener must negotiate again (anyone added, removed, reordered or with other kinds).
export function diffPublishers(before, after) {
  const was = new Map(before.map((p) => [p.person_id, p]));
  const now = new Map(after.map((p) => [p.person_id, p]));
  const added = after.filter((p) => !was.has(p.person_id));
  const removed = before.filter((p) => !now.has(p.person_id)).map((p) => p.person_id);
  const key = (list) => JSON.stringify(list.map((p) => [p.person_id, [...p.kinds].sort()]));
  return { added, removed, changed: key(before) !== key(after) };
}

// The listen answer's `tracks` ([{mid, peer, person_id, kind}]: whose track each m-line of
// the server's offer carries), cleaned.
export function readTracks(list) {
  if (!Array.isArray(list)) return [];
  return list.filter((t) => t && typeof t.mid === "string" && t.person_id != null)
    .map((t) => ({ mid: t.mid, person_id: String(t.person_id), kind: t.kind }));
}

// A `stage.listen` answer, read: {offer, publishers, tracks}, offer null when nobody is on
// stage (no connection then); null when the answer is a refusal or not one we understand.
export function readListen(answer) {
  if (!answer || answer.ok !== true) return null;
  const offer = answer.description;
  if (offer !== null && !(offer && offer.type === "offer" && typeof offer.sdp === "string")) return null;
  return {
    offer: offer ? { type: "offer", sdp: offer.sdp } : null,
    publishers: readPublishers(answer.publishers),
    tracks: offer ? readTracks(answer.tracks) : [],
  };
}

// Each publisher's received tracks, by the mid the server named for them: a Map of
// person_id -> [MediaStreamTrack], in `tracks` order; my own echo and mids no transceiver
// carries are left out. `transceivers`: the listener's, once the offer is set ({mid, receiver}).
export function tracksByPerson(tracks, transceivers, self) {
  const byMid = new Map(transceivers.filter((t) => t.mid !== null).map((t) => [t.mid, t]));
  const people = new Map();
  for (const { mid, person_id: personId } of tracks) {
    const transceiver = byMid.get(mid);
    if (!transceiver || personId === String(self)) continue;
    if (!people.has(personId)) people.set(personId, []);
    people.get(personId).push(transceiver.receiver.track);
  }
  return people;
}

// The sender's parameters with the stage's cap on every encoding of its kind; the same
// parameters (no cap) for a kind without one. setParameters takes back what getParameters
// gave, so the encodings are changed, never added.
export function capped(parameters, kind) {
  const maxBitrate = MAX_BITRATE[kind];
  if (!maxBitrate || !Array.isArray(parameters.encodings)) return parameters;
  return { ...parameters, encodings: parameters.encodings.map((e) => ({ ...e, maxBitrate })) };
}
