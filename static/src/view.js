// Rendering the view state into the page. Data only ever reaches the DOM as text.

import { countdown, formatClock } from "./clock.js";
import { el, setText } from "./dom.js";
import { format, gettext, ngettext } from "./i18n.js";
import { currentSlot, isHere, nextHand, presentCount } from "./reducer.js";

export function phaseLabel(phase) {
  if (phase === "lobby") return gettext("Not started yet");
  if (phase === "live") return gettext("In progress");
  if (phase === "ended") return gettext("Ended");
  return phase;
}

export function roleLabel(role) {
  if (role === "facilitator") return gettext("facilitator");
  if (role === "programme_lead") return gettext("programme lead");
  if (role === "expert") return gettext("expert");
  if (role === "observer") return gettext("observer");
  return "";
}

// The page's language (base.html sets <html lang>), for sorting names and showing times.
export const pageLocale = () => document.documentElement.lang || "nb";

// Project stages are data (the server puts [slug, name] pairs in the page's boot data).
let stageNames = new Map();
export function setStages(pairs) {
  stageNames = new Map(Array.isArray(pairs) ? pairs.filter((p) => Array.isArray(p) && p.length === 2) : []);
}
export const stageLabel = (slug) => (slug ? stageNames.get(slug) || slug : "");

export function who(person) {
  return el("span", { class: "person" },
    el("span", { class: "person-name" }, person.name),
    person.municipality ? el("span", { class: "person-place" }, person.municipality) : null);
}

export function renderAgenda(list, state) {
  const current = state.current ? state.current.index : -1;
  list.replaceChildren(...state.agenda.map((item, index) => el("li", {
    class: index === current ? "agenda-item is-current" : index < current ? "agenda-item is-done" : "agenda-item",
    "aria-current": index === current ? "step" : null,
  },
  el("span", { class: "agenda-title" }, item.title),
  el("span", { class: "agenda-minutes" }, format(ngettext("%(minutes)s min", "%(minutes)s min", item.planned_minutes),
    { minutes: item.planned_minutes })))));
}

export function currentText(state) {
  if (state.phase === "ended") return gettext("The gathering has ended.");
  if (state.phase === "lobby") return gettext("The room is not open yet.");
  const slot = currentSlot(state);
  return slot ? slot.title : gettext("Waiting for the first agenda item.");
}

export function renderCurrent(node, state) {
  setText(node, currentText(state));
}

// Returns whether the current item has run over, so the caller can announce it once.
export function renderTimer(node, state, serverNow) {
  if (state.phase !== "live" || state.current === null) {
    setText(node, "");
    node.classList.remove("is-overrun");
    return false;
  }
  const { overrun, seconds } = countdown(state.current, serverNow);
  const time = formatClock(seconds);
  const paused = state.current.paused_at != null;
  let text = overrun ? format(gettext("Overrun by %(time)s"), { time })
    : format(gettext("%(time)s left"), { time });
  if (paused) text = format(gettext("Paused: %(time)s"), { time: text });
  setText(node, text);
  node.classList.toggle("is-overrun", overrun);
  node.classList.toggle("is-paused", paused);
  return overrun && !paused;
}

// A hand whose person closed every tab keeps its place, marked in words: `hand.call_next`
// passes over them, and the facilitator may lower their hand.
export function renderQueue(list, emptyNode, speakerNode, state) {
  list.replaceChildren(...state.hands.map((hand) => {
    const away = !isHere(state, hand.person_id);
    return el("li", { class: away ? "is-away" : null }, who(hand),
      away ? el("span", { class: "hand-away" }, gettext("not here")) : null);
  }));
  emptyNode.hidden = state.hands.length > 0;
  if (state.speaker) speakerNode.replaceChildren(who(state.speaker));
  else speakerNode.replaceChildren(gettext("Nobody"));
}

// The console's "Call next hand": whom it will call, or why it cannot.
export function callNextLabel(state) {
  const next = nextHand(state);
  if (next) return format(gettext("Call next hand: %(name)s"), { name: next.name });
  if (state.hands.length > 0) return gettext("Call next hand (nobody in the queue is here)");
  return gettext("Call next hand");
}

function groupByMunicipality(people) {
  const groups = new Map();
  for (const person of people) {
    const key = person.municipality || "";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(person);
  }
  const names = [...groups.keys()].sort((a, b) => {
    if (a === "" || b === "") return a === "" ? 1 : -1; // people without a municipality last
    return a.localeCompare(b, pageLocale());
  });
  const byName = (a, b) => a.name.localeCompare(b.name, pageLocale());
  return names.map((name) => [name, groups.get(name).sort(byName)]);
}

export function renderPresence(container, countNode, state) {
  setText(countNode, String(presentCount(state)));
  const others = state.presence_others || {};
  const named = groupByMunicipality(state.presence).map(([place, people]) =>
    el("li", { class: "presence-group" },
      el("span", { class: "presence-place" }, place || gettext("No municipality")),
      el("ul", { class: "presence-people" }, ...people.map((p) => el("li", {},
        el("span", { class: "person-name" }, p.name),
        roleLabel(p.role) ? el("span", { class: "person-role" }, roleLabel(p.role)) : null,
        p.stage ? el("span", { class: "person-stage" }, stageLabel(p.stage)) : null)),
        othersLine(others[place]))));
  const namedPlaces = new Set(state.presence.map((p) => p.municipality || ""));
  const counted = Object.keys(others).filter((place) => !namedPlaces.has(place))
    .sort((a, b) => a.localeCompare(b, pageLocale())).map((place) =>
      el("li", { class: "presence-group" },
        el("span", { class: "presence-place" }, place || gettext("No municipality")),
        el("ul", { class: "presence-people" }, othersLine(others[place]))));
  container.replaceChildren(...named, ...counted);
}

// In a large room, those of a municipality not named to us: how many.
function othersLine(ids) {
  if (!ids || !ids.length) return null;
  return el("li", { class: "presence-others" }, format(ngettext("%(count)s participant",
    "%(count)s participants", ids.length), { count: ids.length }));
}

const clockTime = (at) => new Date(at * 1000).toLocaleTimeString(pageLocale(),
  { hour: "2-digit", minute: "2-digit" });

export function renderChat(list, state, outbox) {
  const scroller = list.parentElement; // the scrolling log around the list
  const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  const posted = state.chat.map((m) => el("li", { class: "chat-message" },
    el("p", { class: "chat-meta" }, who(m), el("time", { datetime: new Date(m.at * 1000).toISOString() }, clockTime(m.at))),
    el("p", { class: "chat-text" }, m.text)));
  const queued = outbox.map((m) => el("li", { class: "chat-message is-pending" },
    el("p", { class: "chat-meta" }, gettext("Sending…")),
    el("p", { class: "chat-text" }, m.text)));
  list.replaceChildren(...posted, ...queued);
  if (nearBottom) scroller.scrollTop = scroller.scrollHeight;
}
