// The pure decisions of the plenary stage: who may publish (as the server decides), whether
// this person is in plenary, how the server's publishers map onto the listener's m-lines,
// and what changed between two publisher lists. No DOM, no RTCPeerConnection.

import { meshKey } from "./negotiation.js";

// The server's limit (signaling/stage.py StageConfig.max_publishers): the listener offers
// this many recvonly transceivers of each kind.
export const MAX_PUBLISHERS = 4;
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

// Which publisher each of the listener's m-lines of a kind carries. The server fills the
// m-lines of each kind in publication order (the order of its publisher list), skipping
// publishers without that kind: the i-th video m-line is the i-th publisher with video.
// Returns [person_id | null] of length `slots`.
export function slotsFor(publishers, kind, slots = MAX_PUBLISHERS) {
  const ids = publishers.filter((p) => p.kinds.includes(kind)).map((p) => p.person_id);
  return Array.from({ length: slots }, (_, i) => ids[i] ?? null);
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

// The listen answer's `tracks` ([{mid, person_id, kind}]: which publisher each m-line of
// the answer carries), cleaned; null when the server did not say.
export function readTracks(list) {
  if (!Array.isArray(list)) return null;
  return list.filter((t) => t && typeof t.mid === "string" && t.person_id != null)
    .map((t) => ({ mid: t.mid, person_id: String(t.person_id), kind: t.kind }));
}
