// Breakout groups in the room: "your group" for a participant (task, members, countdown,
// the facilitator's messages, the group's shared notes), choosing a group when people
// pick their own, a read-only view of the groups for everyone else, and, after everyone
// is called back, the harvest: every group's notes side by side.
// Used by the participant page and the console (which adds its controls: breakout-controls.js).

import { countdown, formatClock, serverTime } from "./clock.js";
import { byId, el, setText } from "./dom.js";
import { format, gettext } from "./i18n.js";
import { groupNoteId, groupOf } from "./reducer.js";
import { pageLocale, stageLabel } from "./view.js";

const TICK_MS = 250;

// --- announcements (pure: the caller puts them into its aria-live region) -------------------

const statusOf = (state) => (state && state.breakouts ? state.breakouts.status : null);
const roundOf = (state) => (state && state.breakouts ? state.breakouts.round : 0);

// {said: [text], warned: bool} for what changed in the breakouts between two states.
export function breakoutAnnouncements(state, previous, you) {
  const said = [];
  let warned = false;
  if (!previous || !state.breakouts) return { said, warned };
  const b = state.breakouts;
  const sameRound = roundOf(previous) === b.round;
  const wasOpen = sameRound && statusOf(previous) === "open";
  const mine = groupOf(state, you);
  const before = sameRound ? groupOf(previous, you) : null;
  if (b.status === "open" && !wasOpen) {
    if (mine) said.push(format(gettext("Breakout groups are open. You are in %(group)s."), { group: mine.name }));
    else if (b.plan.rule === "self_select" && isParticipant(state)) said.push(gettext("Breakout groups are open. Choose a group."));
    else said.push(gettext("Breakout groups are open."));
  } else if (b.status === "open" && mine && (!before || before.id !== mine.id)) {
    said.push(format(gettext("You are now in %(group)s."), { group: mine.name }));
  }
  if (b.status === "open" && b.warned && wasOpen && !previous.breakouts.warned) {
    said.push(gettext("One minute left in the breakout groups."));
    warned = true;
  }
  if (b.status === "recalled" && sameRound && statusOf(previous) === "open") {
    said.push(gettext("Everyone is called back to plenary."));
  }
  if (b.status === "open" && wasOpen && !runs(state.you && state.you.role)) {
    for (const sent of newBroadcasts(b, previous.breakouts)) {
      said.push(format(gettext("Message to all groups from %(name)s: %(text)s"), sent));
    }
  }
  return { said, warned };
}

const broadcastKey = (b) => `${b.at}|${b.name}|${b.text}`;

// The facilitator's messages in `breakouts` that `before` did not have (a catch-up brings
// the same messages as new objects: compared by what they are).
function newBroadcasts(breakouts, before) {
  const known = new Set(before.broadcasts.map(broadcastKey));
  return breakouts.broadcasts.filter((b) => !known.has(broadcastKey(b)));
}

const isParticipant = (state) => Boolean(state.you) && state.you.role === "participant";
const runs = (role) => role === "facilitator" || role === "programme_lead";

// --- shared notes: one editor per note, kept across re-renders -------------------------------

// Keeps each mounted note's editor in a host element of its own, so re-rendering the lists
// around it moves the host instead of destroying what someone is typing.
export class NoteShelf {
  constructor({ mountNote, socket, gathering, userName }) {
    this.mountNote = mountNote;
    this.socket = socket;
    this.gathering = gathering;
    this.userName = userName;
    this.notes = new Map(); // note id -> {host, handle, readOnly}
  }

  host(note, readOnly, label) {
    const kept = this.notes.get(note);
    if (kept && kept.readOnly === readOnly) return kept.host;
    if (kept) this.drop(note);
    // mountNote labels its editor with the container's first heading
    const host = el("div", { class: "note-host", "data-note": note },
      el("h4", { class: "visually-hidden" }, label));
    let handle = null;
    if (this.mountNote) {
      try {
        handle = this.mountNote(this.socket, {
          gathering: this.gathering, note, element: host, readOnly, userName: this.userName(),
        });
      } catch (error) {
        console.error("could not open the shared note", note, error);
      }
    }
    if (!handle) host.append(el("p", { class: "empty" }, gettext("The shared notes could not be opened.")));
    this.notes.set(note, { host, handle, readOnly });
    return host;
  }

  drop(note) {
    const kept = this.notes.get(note);
    if (!kept) return;
    this.notes.delete(note);
    try {
      kept.handle?.destroy();
    } finally {
      kept.host.remove();
    }
  }

  // Destroy every note not in `wanted` (a Set of note ids).
  keepOnly(wanted) {
    for (const note of [...this.notes.keys()]) if (!wanted.has(note)) this.drop(note);
  }
}

// Put `child` as the only content of `parent`, without touching it if it is there already.
function place(parent, child) {
  if (parent.childNodes.length !== 1 || parent.firstChild !== child) parent.replaceChildren(child);
}

// --- rendering pieces --------------------------------------------------------------------------

export function memberLine(m) {
  return el("span", { class: "person" },
    el("span", { class: "person-name" }, m.name),
    m.municipality ? el("span", { class: "person-place" }, m.municipality) : null,
    m.stage ? el("span", { class: "person-stage" }, stageLabel(m.stage)) : null);
}

export function memberList(group) {
  if (group.members.length === 0) return el("p", { class: "empty" }, gettext("Nobody in this group yet."));
  return el("ul", { class: "group-members" }, ...group.members.map((m) => el("li", {}, memberLine(m))));
}

export function groupCountdownText(breakouts, serverNow) {
  if (!breakouts || breakouts.status !== "open" || breakouts.deadline == null) return "";
  const { overrun, seconds } = countdown(
    { deadline: breakouts.deadline, paused_at: breakouts.paused_at }, serverNow);
  return format(gettext("%(time)s left in the groups"), { time: formatClock(overrun ? 0 : seconds) });
}

const clockTime = (at) => new Date(at * 1000).toLocaleTimeString(pageLocale(),
  { hour: "2-digit", minute: "2-digit" });

// Messages already shown stay untouched (breakoutAnnouncements says the new ones).
export function renderBroadcasts(list, breakouts) {
  const sent = breakouts ? breakouts.broadcasts : [];
  const keys = sent.map(broadcastKey);
  const shown = [...list.children].map((li) => li.dataset.key);
  const kept = shown.length <= keys.length && shown.every((key, i) => key === keys[i]);
  const item = (b, i) => el("li", { class: "broadcast", "data-key": keys[i] },
    el("p", { class: "chat-meta" }, el("span", { class: "person-name" }, b.name),
      el("time", { datetime: new Date(b.at * 1000).toISOString() }, clockTime(b.at))),
    el("p", { class: "chat-text" }, b.text));
  if (kept) list.append(...sent.slice(shown.length).map((b, i) => item(b, shown.length + i)));
  else list.replaceChildren(...sent.map(item));
}

// --- the room's breakout sections ------------------------------------------------------------

export function setupBreakouts({ client, session, boot, listeners, showError, setStatus, mountNote }) {
  const ui = {
    panel: byId("group-panel"), heading: byId("group-heading"), timer: byId("group-timer"),
    task: byId("group-task"), taskText: byId("group-task-text"), members: byId("group-members"),
    choice: byId("group-choice"), broadcastsBox: byId("group-broadcasts-box"),
    broadcasts: byId("group-broadcasts"), noteBox: byId("group-note-box"), note: byId("group-note"),
    others: byId("group-list"),
    harvestPanel: byId("harvest-panel"), harvest: byId("harvest"),
  };
  const shelf = new NoteShelf({
    mountNote, socket: client.socket, gathering: boot.gathering,
    userName: () => (session.state && session.state.you ? session.state.you.name : ""),
  });
  const reading = new Set(); // groups whose notes a non-member has opened
  let choosing = false;
  const wantedNotes = new Set(); // filled by each render
  const mayWriteAll = runs(boot.role);

  function noteLabel(group) {
    return format(gettext("Shared notes of %(group)s"), { group: group.name });
  }

  // A non-member's view of the groups: names, members, and their notes on request.
  function renderGroupList(state) {
    const b = state.breakouts;
    const you = boot.person_id;
    const canChoose = b.plan.rule === "self_select" && boot.role === "participant";
    const mine = groupOf(state, you);
    ui.others.replaceChildren(...b.groups.map((group) => {
      const note = groupNoteId(b, group.id);
      const open = reading.has(group.id);
      const isMine = mine && mine.id === group.id;
      const full = group.members.length >= b.plan.group_size;
      const items = [
        el("h3", { id: `group-${group.id}-name` }, group.name),
        memberList(group),
      ];
      if (canChoose && !isMine) {
        const join = el("button", { type: "button", class: "secondary", id: `group-${group.id}-join`,
          disabled: full ? true : null },
          full ? gettext("Full") : format(gettext("Join %(group)s"), { group: group.name }));
        join.addEventListener("click", () => choose(group.id));
        items.push(join);
      }
      if (!isMine && b.status === "open") {
        const toggle = el("button", { type: "button", class: "secondary", "aria-expanded": open ? "true" : "false",
          "aria-controls": `group-${group.id}-notes` },
        open ? gettext("Hide notes") : gettext("Read notes"));
        toggle.addEventListener("click", () => {
          if (reading.has(group.id)) reading.delete(group.id);
          else reading.add(group.id);
          render(session.state, null, true); // keeps the focus on this button (same id)
        });
        toggle.id = `group-${group.id}-toggle`;
        items.push(toggle);
        const box = el("div", { id: `group-${group.id}-notes`, class: "group-notes" });
        if (open) {
          wantedNotes.add(note);
          box.append(shelf.host(note, !mayWriteAll, noteLabel(group)));
        }
        items.push(box);
      }
      return el("section", { class: "breakout-group", "aria-labelledby": `group-${group.id}-name` }, ...items);
    }));
  }

  async function choose(groupId) {
    if (choosing) return;
    choosing = true;
    const answer = await client.send("breakouts.choose", { group: groupId });
    choosing = false;
    if (answer.ok) setStatus("");
    else showError(answer.error);
  }

  function renderGroupPanel(state) {
    const b = state.breakouts;
    const you = boot.person_id;
    const mine = groupOf(state, you);
    const participant = boot.role === "participant";
    const selfSelect = b && b.plan.rule === "self_select";
    // Participants see their group while the groups are open; in self-select they may
    // pick one as soon as the groups are proposed.
    const show = state.phase === "live" && b !== null
      && (b.status === "open" || (b.status === "proposed" && selfSelect && participant));
    ui.panel.hidden = !show;
    ui.panel.classList.toggle("is-mine", Boolean(show && mine));
    if (!show) return;

    setText(ui.heading, mine ? format(gettext("Your group: %(group)s"), { group: mine.name })
      : gettext("Breakout groups"));
    ui.task.hidden = !b.plan.task;
    setText(ui.taskText, b.plan.task || "");
    ui.broadcastsBox.hidden = b.status !== "open" || b.broadcasts.length === 0;
    renderBroadcasts(ui.broadcasts, b);

    if (mine) {
      ui.members.hidden = false;
      ui.members.replaceChildren(el("h3", {}, gettext("Members")), memberList(mine));
    } else {
      ui.members.hidden = true;
      ui.members.replaceChildren();
    }
    if (participant && !mine) {
      ui.choice.hidden = false;
      setText(ui.choice, selfSelect ? gettext("Choose the group you want to join.")
        : gettext("You are not in a group yet. The facilitator can place you in one."));
    } else {
      ui.choice.hidden = true;
      setText(ui.choice, "");
    }

    // the group's shared notes, written by its members while the groups are open
    if (mine && b.status === "open") {
      const note = groupNoteId(b, mine.id);
      wantedNotes.add(note);
      ui.noteBox.hidden = false;
      place(ui.note, shelf.host(note, false, noteLabel(mine)));
    } else {
      ui.noteBox.hidden = true;
      ui.note.replaceChildren();
    }

    // the other groups: to join (self-select) or to read
    const others = !mine || selfSelect;
    ui.others.hidden = !others;
    if (others) renderGroupList(state);
    else ui.others.replaceChildren();
  }

  function renderHarvest(state) {
    const b = state.breakouts;
    const show = b !== null && b.status === "recalled" && state.phase !== "lobby";
    ui.harvestPanel.hidden = !show;
    if (!show) {
      ui.harvest.replaceChildren();
      return;
    }
    const groups = b.groups.filter((g) => g.members.length > 0);
    ui.harvest.replaceChildren(...groups.map((group) => {
      const note = groupNoteId(b, group.id);
      wantedNotes.add(note);
      return el("article", { class: "harvest-group", "aria-labelledby": `harvest-${group.id}-name` },
        el("h3", { id: `harvest-${group.id}-name` }, group.name),
        memberList(group),
        shelf.host(note, true, noteLabel(group)));
    }));
  }

  let rendered = null; // the breakouts and phase last rendered
  function render(state, previous, force = false) {
    if (!state) return;
    const key = [state.breakouts, state.phase];
    if (!force && rendered && rendered[0] === key[0] && rendered[1] === key[1]) return;
    rendered = key;
    wantedNotes.clear();
    if (!state.breakouts || state.breakouts.status !== "open") reading.clear();
    // keep the keyboard focus where it was when lists are drawn again
    const focused = document.activeElement && document.activeElement.id;
    if (ui.panel) renderGroupPanel(state);
    if (ui.harvestPanel) renderHarvest(state);
    shelf.keepOnly(wantedNotes);
    if (focused && document.activeElement !== byId(focused)) byId(focused)?.focus();
  }

  function tick() {
    const state = session.state;
    if (!state || !ui.timer || !ui.panel || ui.panel.hidden) return;
    setText(ui.timer, groupCountdownText(state.breakouts, serverTime(session.offset)));
  }

  listeners.push((state, previous) => {
    render(state, previous);
    tick();
  });
  setInterval(tick, TICK_MS);
  return { shelf };
}
