// The view state of one gathering, and how events change it. Pure: no DOM, no I/O.
// It mirrors the server's fold (facilitation/rules.py) for what the page shows.

import { QA_HANDLERS, qaFromSnapshot } from "./qa-state.js";

export const CHAT_KEPT = 200;
export const BROADCASTS_KEPT = 20; // facilitation/breakouts.py BROADCAST_KEPT

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
    // in a large room, everyone not named in `presence`: municipality -> person ids
    presence_others: snapshot.presence_others ?? null,
    presence_rev: snapshot.presence_rev ?? 0, // the presence revision the list reflects
    presence_seen: {}, // person_id -> the rev of the last entry applied for them
    breakouts: snapshot.breakouts ?? null,
    notes_reopened: snapshot.notes_reopened === true,
    opened_at: snapshot.opened_at ?? null,
    ended_at: snapshot.ended_at ?? null,
    ...qaFromSnapshot(snapshot), // questions, polls, the stage
  };
}

// The deadline as the server computes it (facilitation/state.py CurrentItem.deadline).
export const itemDeadline = (c) => c.started_at + c.planned_seconds + (c.extended_seconds || 0)
  + (c.paused_seconds || 0);

function withCurrent(s, changes) {
  if (s.current === null) return s;
  const current = { ...s.current, ...changes };
  return { ...s, current: { ...current, deadline: itemDeadline(current) } };
}

const withBreakouts = (s, changes) => (s.breakouts ? { ...s, breakouts: { ...s.breakouts, ...changes } } : s);

const withoutHand = (hands, personId) => hands.filter((h) => h.person_id !== personId);

// Agenda planning (facilitation/planning.py): only items after the running one change, so
// the current item's index stays valid.
function moved(agenda, itemId, position) {
  const item = agenda.find((i) => i.id === itemId);
  if (!item) return agenda;
  const rest = agenda.filter((i) => i.id !== itemId);
  return [...rest.slice(0, position), item, ...rest.slice(position)];
}

const HANDLERS = {
  "agenda.item_added": (s, d) => ({
    ...s, agenda: [...s.agenda.slice(0, d.position), d.item, ...s.agenda.slice(d.position)],
  }),
  "agenda.item_updated": (s, d) => ({
    ...s, agenda: s.agenda.map((i) => (i.id === d.item.id ? d.item : i)),
  }),
  "agenda.item_moved": (s, d) => ({ ...s, agenda: moved(s.agenda, d.item_id, d.position) }),
  "agenda.item_removed": (s, d) => ({ ...s, agenda: s.agenda.filter((i) => i.id !== d.item_id) }),
  "agenda.replaced": (s, d) => ({ ...s, agenda: d.agenda }),
  // Attendance is the record's (facilitation/record.py), not the room's: who is here now
  // comes from the presence feed (applyPresence), so the view has nothing to change.
  "attendee.arrived": (s) => s,
  "room.opened": (s, d) => ({ ...s, phase: "live", opened_at: d.at }),
  "agenda.item_started": (s, d) => ({
    ...s,
    speaker: null, // a new item ends the floor given in the last one
    current: {
      index: d.index,
      item_id: d.item_id,
      started_at: d.started_at,
      planned_seconds: d.planned_seconds,
      extended_seconds: 0,
      paused_at: null,
      paused_seconds: 0,
      warned: false,
      deadline: d.started_at + d.planned_seconds,
    },
  }),
  // more time: a warning already given may be given again before the new deadline
  "agenda.item_extended": (s, d) => withCurrent(s, { extended_seconds: d.extended_seconds, warned: false }),
  "agenda.item_paused": (s, d) => withCurrent(s, { paused_at: d.at }),
  "agenda.item_resumed": (s, d) => withCurrent(s, { paused_at: null, paused_seconds: d.paused_seconds }),
  "agenda.item_warned": (s) => withCurrent(s, { warned: true }),
  "hand.raised": (s, d) => (s.hands.some((h) => h.person_id === d.person_id)
    ? s : { ...s, hands: [...s.hands, person(d)] }),
  "hand.lowered": (s, d) => ({ ...s, hands: withoutHand(s.hands, d.person_id) }),
  "hand.called": (s, d) => ({ ...s, hands: withoutHand(s.hands, d.person_id), speaker: person(d) }),
  "chat.posted": (s, d) => ({
    ...s, chat: [...s.chat, { ...person(d), text: d.text, at: d.at }].slice(-CHAT_KEPT),
  }),
  "gathering.ended": (s, d) => ({ ...s, phase: "ended", ended_at: d.at, hands: [], speaker: null }),
  "notes.reopened": (s) => ({ ...s, notes_reopened: true }),
  "notes.closed": (s) => ({ ...s, notes_reopened: false }),

  // Breakout groups: the same fold as facilitation/breakouts.py.
  "breakouts.proposed": (s, d) => ({
    ...s,
    breakouts: {
      round: d.round, item_id: d.item_id, plan: d.plan, groups: d.groups, status: "proposed",
      opened_at: null, deadline: null, paused_at: null, warned: false, broadcasts: [],
    },
  }),
  "breakouts.opened": (s, d) => withBreakouts(s,
    { status: "open", opened_at: d.at, deadline: d.deadline, paused_at: null, warned: false }),
  // the groups keep time with their breakout item: extended, paused, resumed
  "breakouts.retimed": (s, d) => (!s.breakouts ? s : withBreakouts(s, {
    deadline: d.deadline,
    paused_at: d.paused_at,
    warned: s.breakouts.warned && !(d.deadline > s.breakouts.deadline),
  })),
  "breakouts.member_moved": (s, d) => {
    if (!s.breakouts) return s;
    const id = d.member.person_id;
    let groups = s.breakouts.groups;
    if (d.group_name != null && !groups.some((g) => g.id === d.to_group)) {
      groups = [...groups, { id: d.to_group, name: d.group_name, members: [] }];
    }
    groups = groups.map((g) => {
      const members = g.members.filter((m) => m.person_id !== id);
      return { ...g, members: g.id === d.to_group ? [...members, d.member] : members };
    });
    return withBreakouts(s, { groups });
  },
  "breakouts.group_renamed": (s, d) => (s.breakouts ? withBreakouts(s, {
    groups: s.breakouts.groups.map((g) => (g.id === d.group ? { ...g, name: d.name } : g)),
  }) : s),
  "breakouts.broadcast": (s, d) => (s.breakouts ? withBreakouts(s, {
    broadcasts: [...s.breakouts.broadcasts, { text: d.text, at: d.at, name: d.name }]
      .slice(-BROADCASTS_KEPT),
  }) : s),
  "breakouts.warned": (s) => withBreakouts(s, { warned: true }),
  "breakouts.recalled": (s) => withBreakouts(s, { status: "recalled" }),

  // Questions, polls and the stage: qa-state.js.
  ...QA_HANDLERS,
};

// The event types this page folds: every type the server has (static/test/golden.test.js
// fails on one missing here, so a new server event gets a handler, if only a no-op).
export const KNOWN_EVENTS = new Set(Object.keys(HANDLERS));

// Apply one versioned event. Unknown types (newer servers) only advance the version.
export function reduce(state, event) {
  const handler = HANDLERS[event.type];
  const next = handler ? handler(state, event.data || {}, event) : state;
  return { ...next, version: event.version };
}

// Presence is not in the versioned log. `presence.changed` carries entries, oldest first:
// joined adds or replaces a person (at the end), left removes them. Each entry has `rev`,
// the gathering's presence revision after it: an entry at or below what we hold for that
// person (the snapshot's `presence_rev`, or the last entry applied) is old news, so
// messages from several server processes may come in any order. A bare
// `presence.joined`/`presence.left` message (servers before the batches) is one entry
// without `rev`, always applied. Answers the same state when nothing changed.
// In a large room (`presence_others` set) an entry that is not named to us is kept as an id
// under its municipality.
export function applyPresence(state, message) {
  const entries = message.type === "presence.changed" ? (message.data?.changes || []) : [message];
  const base = state.presence_rev ?? 0;
  const seen = { ...(state.presence_seen || {}) };
  const people = new Map(state.presence.map((p) => [p.person_id, p]));
  const others = state.presence_others === null ? null : { ...state.presence_others };
  let changed = false;
  for (const entry of entries) {
    if (entry.type !== "presence.joined" && entry.type !== "presence.left") continue;
    const data = entry.data || {};
    const id = data.person_id;
    if (typeof entry.rev === "number") {
      if (entry.rev <= Math.max(base, seen[id] ?? 0)) continue;
      seen[id] = entry.rev;
    }
    people.delete(id);
    if (others !== null) forgetOther(others, id);
    if (entry.type === "presence.joined") {
      if (others === null || namedToMe(data, state.you)) people.set(id, data);
      else others[data.municipality || ""] = [...(others[data.municipality || ""] || []), id];
    }
    changed = true;
  }
  if (!changed) return state;
  return { ...state, presence: [...people.values()], presence_others: others, presence_seen: seen };
}

// Whom a large room names to a participant: their own municipality's people and whoever runs
// or speaks (facilitation/snapshot.py `named_to`, the same rule).
export const namedToMe = (entry, you) => !["participant", "observer"].includes(entry.role)
  || entry.municipality === (you?.municipality ?? null);

function forgetOther(others, id) {
  for (const [place, ids] of Object.entries(others)) {
    if (!ids.includes(id)) continue;
    const left = ids.filter((other) => other !== id);
    if (left.length) others[place] = left;
    else delete others[place];
  }
}

// Everyone here: those named, and in a large room those counted by municipality.
export const presentCount = (state) => state.presence.length
  + Object.values(state.presence_others || {}).reduce((sum, ids) => sum + ids.length, 0);

export const hasHandUp = (state, personId) => state.hands.some((h) => h.person_id === personId);
// Whether someone has the room open now (the presence feed, not the event log).
export const isHere = (state, personId) => state.presence.some((p) => p.person_id === personId)
  || Object.values(state.presence_others || {}).some((ids) => ids.includes(personId));
// Whom `hand.call_next` gives the floor (facilitation/rules.py): the first in the queue who
// is here; those who left keep their place. null: nobody in the queue is here.
export const nextHand = (state) => state.hands.find((h) => isHere(state, h.person_id)) || null;
export const currentSlot = (state) => (state.current ? state.agenda[state.current.index] : null);

// Breakout helpers. A group's shared note is `r<round>-<group id>` (facilitation/notes.py).
export const groupNoteId = (breakouts, groupId) => `r${breakouts.round}-${groupId}`;
export const breakoutsStatus = (state) => (state.breakouts ? state.breakouts.status : null);
export function groupOf(state, personId) {
  const b = state.breakouts;
  return b ? b.groups.find((g) => g.members.some((m) => m.person_id === personId)) || null : null;
}
export const isPaused = (state) => Boolean(state.current && state.current.paused_at != null);
