// The pure decisions of the breakout mesh: who is polite, what to do with an incoming
// description (W3C "perfect negotiation"), and which links to open and close.
// No DOM, no RTCPeerConnection: tested with node --test.

// The polite peer is the one whose id sorts lower. Both sides compute the same answer
// from the same two ids, so exactly one of them yields when offers cross.
export function isPolite(me, other) {
  return String(me) < String(other);
}

// What to do with a remote description, given the link's negotiation state.
// Returns {ignore, collision, rollback, answerPending, reply}:
// - ignore: an impolite peer drops an offer that collides with its own;
// - rollback: a polite peer rolls its own offer back and takes the other's;
// - answerPending: set isSettingRemoteAnswerPending while applying an answer;
// - reply: after applying an offer, answer it (setLocalDescription() and signal).
export function decideOnDescription({ type, polite, makingOffer, signalingState,
  isSettingRemoteAnswerPending = false }) {
  const readyForOffer = !makingOffer
    && (signalingState === "stable" || isSettingRemoteAnswerPending);
  const collision = type === "offer" && !readyForOffer;
  if (collision && !polite) {
    return { ignore: true, collision, rollback: false, answerPending: false, reply: false };
  }
  if (type === "answer" && signalingState !== "have-local-offer") {
    // an answer to an offer we no longer have (rolled back, or repeated): nothing to apply
    return { ignore: true, collision: false, rollback: false, answerPending: false, reply: false };
  }
  return {
    ignore: false,
    collision,
    rollback: collision && signalingState === "have-local-offer",
    answerPending: type === "answer",
    reply: type === "offer",
  };
}

// Remote candidates wait until the remote description is set.
export const mustQueueCandidate = (remoteDescription) => !remoteDescription;

// {add: [peer], remove: [peer]}: links to open and to close so that the links match the
// peers allowed now.
export function diffPeers(current, allowed) {
  const have = new Set(current);
  const want = new Set(allowed);
  return {
    add: [...want].filter((peer) => !have.has(peer)),
    remove: [...have].filter((peer) => !want.has(peer)),
  };
}

// The peers I may connect to, as a Map peer -> {peer, person_id, name}, after a
// `media.join` answer (its `peers`) or a pushed `media` message.
export function applyMediaMessage(peers, message, me) {
  const next = new Map(peers);
  if (!message || message.peer == null || message.peer === me) return next;
  if (message.type === "peer_joined") {
    next.set(message.peer, { peer: message.peer, person_id: message.person_id, name: message.name });
  } else if (message.type === "peer_left") {
    next.delete(message.peer);
  }
  return next;
}

// Whether a pushed `media` message says that another tab of mine took my place, ending my
// join `presence` of peer `me` (one media presence per person). A `replaced` naming an
// earlier join of mine is stale: the join since took the place back.
export function endsMyJoin(message, me, presence) {
  if (!message || message.type !== "replaced" || me == null || message.peer !== me) return false;
  return message.presence == null || presence == null || message.presence === presence;
}

export function peersFromJoin(answer) {
  const peers = new Map();
  for (const p of (answer && answer.peers) || []) {
    if (p && p.peer != null && p.peer !== answer.peer) peers.set(p.peer, { ...p });
  }
  return peers;
}

// The id of the open breakout group a person is a member of, or null.
export function groupIdOf(state, personId) {
  const b = state && state.breakouts;
  if (!b || b.status !== "open") return null;
  const group = b.groups.find((g) => g.members.some((m) => m.person_id === personId));
  return group ? group.id : null;
}

// The mesh of group `groupId` (mine, or the one a runner visits), as a key that changes
// whenever I must join again (`media.join` after breakouts open or close, I move group or
// visit another one), or null for none: the room is not live, the group not open.
export function meshKeyFor(state, groupId) {
  if (!state || state.phase !== "live" || groupId == null) return null;
  const b = state.breakouts;
  if (!b || b.status !== "open" || !b.groups.some((g) => g.id === groupId)) return null;
  return `${b.round}:${groupId}`;
}

// The mesh I should be in as a member of a group, or null.
export function meshKey(state, personId) {
  return meshKeyFor(state, groupIdOf(state, personId));
}

// Whom to keep links to in the mesh of group `groupId`, as a test of a person id: the
// group's members, and people in no group (a visiting runner: the server announces only
// those who may connect). Prunes people moved to another group (the server tells the new
// group, not the old one).
export function keepInMesh(state, groupId) {
  const b = state && state.breakouts;
  const groups = b && b.status === "open" ? b.groups : [];
  const home = new Map(groups.flatMap((g) => g.members.map((m) => [m.person_id, g.id])));
  return (personId) => !home.has(personId) || home.get(personId) === groupId;
}

// When to fetch fresh ICE servers: well before the credentials run out.
export function iceRefreshDelayMs(ttlSeconds) {
  if (typeof ttlSeconds !== "number" || !(ttlSeconds > 0)) return null;
  return Math.max(5, ttlSeconds * 0.75) * 1000;
}
