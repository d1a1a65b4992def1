// The view state of one gathering, and how events change it. Pure: no DOM, no I/O.
// It mirrors the server's fold (facilitation/rules.py) for what the page shows.

export const CHAT_KEPT = 200;

const person = (d) => ({ person_id: d.person_id, name: d.name, municipality: d.municipality });

export function fromSnapshot(snapshot) {
  return {
    version: snapshot.version,
    phase: snapshot.phase,
    gathering: snapshot.gathering,
    you: snapshot.you,
    agenda: snapshot.agenda,
    current: snapshot.current,
    hands: snapshot.hands,
    speaker: snapshot.speaker,
    chat: snapshot.chat.slice(-CHAT_KEPT),
    presence: snapshot.presence,
  };
}

const withoutHand = (hands, personId) => hands.filter((h) => h.person_id !== personId);

const HANDLERS = {
  "room.opened": (s) => ({ ...s, phase: "live" }),
  "agenda.item_started": (s, d) => ({
    ...s,
    speaker: null, // a new item ends the floor given in the last one
    current: {
      index: d.index,
      item_id: d.item_id,
      started_at: d.started_at,
      planned_seconds: d.planned_seconds,
      extended_seconds: 0,
      deadline: d.started_at + d.planned_seconds,
    },
  }),
  "agenda.item_extended": (s, d) => (s.current === null ? s : {
    ...s,
    current: {
      ...s.current,
      extended_seconds: d.extended_seconds,
      deadline: s.current.started_at + s.current.planned_seconds + d.extended_seconds,
    },
  }),
  "hand.raised": (s, d) => (s.hands.some((h) => h.person_id === d.person_id)
    ? s : { ...s, hands: [...s.hands, person(d)] }),
  "hand.lowered": (s, d) => ({ ...s, hands: withoutHand(s.hands, d.person_id) }),
  "hand.called": (s, d) => ({ ...s, hands: withoutHand(s.hands, d.person_id), speaker: person(d) }),
  "chat.posted": (s, d) => ({
    ...s, chat: [...s.chat, { ...person(d), text: d.text, at: d.at }].slice(-CHAT_KEPT),
  }),
  "gathering.ended": (s) => ({ ...s, phase: "ended", hands: [], speaker: null }),
};

// Apply one versioned event. Unknown types (newer servers) only advance the version.
export function reduce(state, event) {
  const handler = HANDLERS[event.type];
  const next = handler ? handler(state, event.data || {}) : state;
  return { ...next, version: event.version };
}

// Presence is not versioned: joined adds or replaces a person, left removes them.
export function applyPresence(state, message) {
  const data = message.data || {};
  const others = state.presence.filter((p) => p.person_id !== data.person_id);
  if (message.type === "presence.joined") return { ...state, presence: [...others, data] };
  if (message.type === "presence.left") return { ...state, presence: others };
  return state;
}

export const hasHandUp = (state, personId) => state.hands.some((h) => h.person_id === personId);
export const currentSlot = (state) => (state.current ? state.agenda[state.current.index] : null);
