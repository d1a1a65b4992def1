// The facilitator's breakout panel: propose groups by a rule, adjust the proposal (move
// people, rename groups: forms and selects, so everything works from the keyboard), open
// the groups, message all of them, visit their notes, join one group's video (`video`: a
// GroupVisit from media/visit.js, or null without WebRTC), call everyone back. Opening the
// groups, calling them back and their countdown sit in the console's bar, in view from
// every panel (_console.html).

import { commandRunner } from "./client.js";
import { serverTime } from "./clock.js";
import { byId, el, hideKeepingFocus, setText } from "./dom.js";
import { format, gettext, ngettext } from "./i18n.js";
import { currentSlot, groupNoteId } from "./reducer.js";
import { NoteShelf, groupCountdownText, memberLine, renderBroadcasts } from "./breakouts.js";

const TICK_MS = 250;
const DEFAULT_MINUTES = 15; // facilitation/breakouts.py DEFAULT_MINUTES
const MAX_MINUTES = 180;

export function ruleLabel(rule) {
  if (rule === "same_stage") return gettext("Same project stage");
  if (rule === "mixed") return gettext("Mixed stages");
  if (rule === "by_tag") return gettext("By tag");
  if (rule === "random") return gettext("Random");
  if (rule === "self_select") return gettext("Participants choose");
  return rule;
}

export function statusText(breakouts) {
  if (!breakouts) return gettext("No breakout groups yet.");
  const count = breakouts.groups.length;
  if (breakouts.status === "proposed") {
    return format(ngettext("Proposed: %(count)s group (%(rule)s). Adjust it, then open it.",
      "Proposed: %(count)s groups (%(rule)s). Adjust them, then open them.", count),
    { count, rule: ruleLabel(breakouts.plan.rule) });
  }
  if (breakouts.status === "open") {
    return format(ngettext("Open: %(count)s group is working.", "Open: %(count)s groups are working.",
      count), { count });
  }
  return gettext("Everyone is back in plenary.");
}

// Participants present who are in no group (arrived after the proposal, for example).
function unplaced(state) {
  const b = state.breakouts;
  const placed = new Set(b.groups.flatMap((g) => g.members.map((m) => m.person_id)));
  return state.presence.filter((p) => p.role === "participant" && !placed.has(p.person_id))
    .map((p) => ({ person_id: p.person_id, name: p.name, municipality: p.municipality, stage: p.stage }));
}

export function setupBreakoutControls({ client, session, boot, listeners, setStatus, showError, mountNote,
  announce = () => {}, video = null }) {
  const ui = {
    panel: byId("breakouts-panel"), state: byId("breakouts-state"), timer: byId("breakouts-timer"),
    propose: byId("breakouts-propose"), rule: byId("breakouts-rule"), size: byId("breakouts-size"),
    spread: byId("breakouts-spread"), groups: byId("breakouts-groups"),
    open: byId("breakouts-open"), minutes: byId("breakouts-minutes"),
    broadcast: byId("breakouts-broadcast"), message: byId("breakouts-message"),
    sent: byId("breakouts-sent"), sentBox: byId("breakouts-sent-box"), recall: byId("breakouts-recall"),
  };
  if (!ui.panel) return;
  const shelf = new NoteShelf({
    mountNote, socket: client.socket, gathering: boot.gathering,
    userName: () => (session.state && session.state.you ? session.state.you.name : ""),
  });
  const visiting = new Set();
  let formItem; // the agenda item whose plan the propose form shows
  let formTouched = false;
  let minutesTouched = false;

  const run = commandRunner(client, { setStatus, showError });

  // The propose form starts from the running breakout item's settings.
  function fillForm(state) {
    const slot = currentSlot(state);
    const itemId = slot ? slot.id : null;
    if (itemId === formItem || formTouched) return;
    formItem = itemId;
    const plan = (slot && slot.breakout) || (state.breakouts && state.breakouts.plan);
    if (!plan) return;
    ui.rule.value = plan.rule;
    ui.size.value = String(plan.group_size);
    ui.spread.checked = Boolean(plan.spread_municipalities);
  }

  function suggestedMinutes(state) {
    const slot = currentSlot(state);
    if (!slot || !slot.breakout || !state.current) return DEFAULT_MINUTES;
    const left = (state.current.deadline - serverTime(session.offset)) / 60;
    return Math.min(MAX_MINUTES, Math.max(1, Math.round(left)));
  }

  function moveForm(member, groups, currentGroup) {
    const targets = groups.filter((g) => g.id !== currentGroup);
    if (targets.length === 0) return null;
    const id = `move-${member.person_id}`;
    const form = el("form", { class: "move-form", "data-person": member.person_id },
      el("label", { for: id, class: "visually-hidden" }, format(gettext("Move %(name)s to"), { name: member.name })),
      el("select", { id, name: "to_group" }, ...targets.map((g) => el("option", { value: g.id }, g.name))),
      el("button", { type: "submit", class: "secondary", id: `${id}-button` }, gettext("Move")));
    form.addEventListener("submit", (submit) => {
      submit.preventDefault();
      run("breakouts.move", { person_id: member.person_id, to_group: form.elements.to_group.value });
    });
    return form;
  }

  function renameForm(group) {
    const id = `rename-${group.id}`;
    const form = el("form", { class: "rename-form" },
      el("label", { for: id }, format(gettext("New name for %(group)s"), { group: group.name })),
      el("input", { type: "text", id, name: "name", maxlength: 80, required: true, value: group.name }),
      el("button", { type: "submit", class: "secondary", id: `${id}-button` }, gettext("Rename")));
    form.addEventListener("submit", (submit) => {
      submit.preventDefault();
      const name = form.elements.name.value.trim();
      if (name && name !== group.name) run("breakouts.rename", { group: group.id, name });
    });
    return form;
  }

  // at most one group's video at a time: joining another one leaves this one
  function videoToggle(group, headingId) {
    const on = video.group === group.id;
    const toggle = el("button", { type: "button", class: "secondary", id: `bg-${group.id}-video`,
      "aria-describedby": headingId },
    on ? gettext("Leave the group's video") : gettext("Join the group's video"));
    toggle.addEventListener("click", () => {
      const joined = video.toggle(group.id) === group.id;
      announce(format(joined ? gettext("You joined the video of %(group)s.")
        : gettext("You left the video of %(group)s."), { group: group.name }));
      render(session.state, true);
    });
    return toggle;
  }

  function groupSection(state, group) {
    const b = state.breakouts;
    const editable = b.status !== "recalled";
    const headingId = `bg-${group.id}-name`;
    const members = group.members.length === 0
      ? el("p", { class: "empty" }, gettext("Nobody in this group yet."))
      : el("ul", { class: "group-members" }, ...group.members.map((m) => el("li", {},
        memberLine(m), editable ? moveForm(m, b.groups, group.id) : null)));
    const parts = [
      el("h3", { id: headingId }, group.name, " ",
        el("span", { class: "group-count" }, format(ngettext("(%(count)s person)", "(%(count)s people)", group.members.length),
          { count: group.members.length }))),
      members,
      editable ? renameForm(group) : null,
    ];
    if (b.status === "open") {
      const open = visiting.has(group.id);
      const notesId = `bg-${group.id}-notes`;
      const toggle = el("button", { type: "button", class: "secondary", id: `bg-${group.id}-visit`,
        "aria-expanded": open ? "true" : "false", "aria-controls": notesId },
      open ? gettext("Leave the group's notes") : gettext("Visit the group's notes"));
      toggle.addEventListener("click", () => {
        if (visiting.has(group.id)) visiting.delete(group.id);
        else visiting.add(group.id);
        render(session.state, true);
      });
      const box = el("div", { id: notesId, class: "group-notes" });
      if (open) {
        box.append(shelf.host(groupNoteId(b, group.id), false,
          format(gettext("Shared notes of %(group)s"), { group: group.name })));
      }
      parts.push(toggle, video ? videoToggle(group, headingId) : null, box);
    }
    return el("section", { class: "breakout-group", "aria-labelledby": headingId }, ...parts);
  }

  function renderGroups(state) {
    const b = state.breakouts;
    if (!b) {
      ui.groups.replaceChildren();
      return;
    }
    const sections = b.groups.map((g) => groupSection(state, g));
    const waiting = b.status === "recalled" ? [] : unplaced(state);
    if (waiting.length > 0) {
      sections.push(el("section", { class: "breakout-group is-unplaced", "aria-labelledby": "bg-unplaced-name" },
        el("h3", { id: "bg-unplaced-name" }, gettext("Not in a group")),
        el("ul", { class: "group-members" }, ...waiting.map((m) => el("li", {},
          memberLine(m), moveForm(m, b.groups, null))))));
    }
    ui.groups.replaceChildren(...sections);
  }

  let rendered = null;
  function render(state, force = false) {
    if (!state) return;
    fillForm(state);
    const live = state.phase === "live";
    const b = state.breakouts;
    const status = b ? b.status : null;
    ui.propose.hidden = !live || status === "open";
    ui.broadcast.hidden = !live || status !== "open";
    // the bar's action of the moment: the focus stays in its place when it changes
    const landing = byId("console-now") || ui.state;
    hideKeepingFocus(ui.open, !live || status !== "proposed", landing);
    hideKeepingFocus(ui.recall, !live || status !== "open", landing);
    ui.sentBox.hidden = !b || status !== "open" || b.broadcasts.length === 0;
    if (!minutesTouched && status === "proposed") ui.minutes.value = String(suggestedMinutes(state));
    setText(ui.state, statusText(b));
    const key = [b, state.presence];
    if (!force && rendered && rendered[0] === key[0] && rendered[1] === key[1]) return;
    rendered = key;
    if (status !== "open") {
      visiting.clear();
      video?.clear();
    }
    // drawing the lists again must not lose the keyboard focus or a half-typed name
    const active = document.activeElement;
    const focused = active && ui.groups.contains(active) ? active.id : null;
    const typed = focused && active.tagName === "INPUT" ? active.value : null;
    renderGroups(state);
    if (b) renderBroadcasts(ui.sent, b);
    const wanted = new Set(b && status === "open" ? [...visiting].map((g) => groupNoteId(b, g)) : []);
    shelf.keepOnly(wanted);
    const again = focused ? byId(focused) : null;
    if (again) {
      if (typed !== null) again.value = typed;
      again.focus();
    } else if (focused) {
      ui.state.focus(); // the control went away with its group: land somewhere sensible
    }
  }

  function tick() {
    if (!session.state) return;
    setText(ui.timer, groupCountdownText(session.state.breakouts, serverTime(session.offset)));
  }

  for (const input of [ui.rule, ui.size, ui.spread]) input.addEventListener("change", () => { formTouched = true; });
  ui.minutes.addEventListener("input", () => { minutesTouched = true; });

  ui.propose.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const size = Number.parseInt(ui.size.value, 10);
    const fields = { rule: ui.rule.value, spread_municipalities: ui.spread.checked };
    if (Number.isInteger(size)) fields.group_size = size;
    const answer = await run("breakouts.propose", fields);
    if (answer && answer.ok) formTouched = false;
  });
  ui.open.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const minutes = Number.parseInt(ui.minutes.value, 10);
    const answer = await run("breakouts.open", Number.isInteger(minutes) ? { minutes } : {});
    if (answer && answer.ok) minutesTouched = false;
  });
  ui.broadcast.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const text = ui.message.value.trim();
    if (!text) return;
    const answer = await run("breakouts.broadcast", { text });
    if (answer && answer.ok) ui.message.value = "";
  });
  ui.recall.addEventListener("click", () => run("breakouts.recall"));

  listeners.push((state) => {
    render(state);
    tick();
  });
  setInterval(tick, TICK_MS);
}
