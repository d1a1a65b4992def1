// The console's layout (server/templates/room/_console.html): the bar with the current item
// and the next actions stays in view; everything else is a tab panel, reached by a click, by
// the arrow keys in the row of tabs (WAI-ARIA tabs, activation follows focus), or from
// anywhere with Alt+Shift+1..7.
//
// The panel that suits the gathering (open or proposed groups: Breakout groups; otherwise
// the current item's kind) is shown by itself when that changes, unless the facilitator
// chose a panel in the last minute or is working in the one shown (the keyboard focus is
// in it): then the tab is only marked as suggested and the suggestion is announced. A
// choice made by hand is what they are doing right now; a minute later it is no longer
// news, and the agenda's move is.
//
// Alt+Shift: Alt+digit switches browser tabs in Firefox on Linux, Ctrl+digit everywhere,
// screen readers take Insert/CapsLock (NVDA, JAWS) or Ctrl+Option (VoiceOver) combinations
// and single keys in browse mode, so none of them is lost; WCAG 2.1.4 asks for no
// single-key shortcuts. On a Mac, Option+Shift+digit types a character (€, ‹, ›): in text
// fields there the keys are left to the text.

import { byId, setText } from "./dom.js";
import { format, gettext, ngettext } from "./i18n.js";
import { currentSlot } from "./reducer.js";

export const PANELS = ["breakouts", "qa", "stage", "notes", "chat", "people", "agenda"];
export const RECENT_CHOICE_MS = 60_000;

const KIND_PANELS = {
  breakout: "breakouts", qa: "qa", expert_talk: "stage", welcome: "people", plenary: "people",
  wrap_up: "notes",
};

// The panel that suits the gathering as it is, or null when none does more than another.
export function suitablePanel(state) {
  if (!state || state.phase !== "live") return null;
  const status = state.breakouts ? state.breakouts.status : null;
  if (status === "proposed" || status === "open") return "breakouts";
  const slot = currentSlot(state);
  if (!slot) return null;
  if (slot.kind === "welcome" && slot.checkin_poll) return "qa";
  return KIND_PANELS[slot.kind] || null;
}

// What to do when the suitable panel has changed: "switch" to it, "offer" it, or "none".
export function onSuitableChange({ suitable, shown, chosenAt, now, working }) {
  if (!suitable || suitable === shown) return "none";
  if (working || (chosenAt !== null && now - chosenAt < RECENT_CHOICE_MS)) return "offer";
  return "switch";
}

const isMac = () => /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || "");

export function isTextEntry(node) {
  if (!node) return false;
  if (node.isContentEditable || node.tagName === "TEXTAREA") return true;
  return node.tagName === "INPUT" && !["button", "checkbox", "radio", "submit", "reset"].includes(node.type);
}

// The panel an Alt+Shift+digit keydown asks for, or null. `event.code`, not `event.key`:
// with Shift held the key is "!" or "\"" (or "€" on a Mac), by keyboard layout.
export function shortcutPanel(event, mac = isMac()) {
  if (!event.altKey || !event.shiftKey || event.ctrlKey || event.metaKey) return null;
  const match = /^Digit([1-9])$/.exec(event.code || "");
  if (!match) return null;
  if (mac && isTextEntry(event.target)) return null;
  return PANELS[Number(match[1]) - 1] || null;
}

export function setupConsoleLayout({ listeners }) {
  const tablist = byId("console-tablist");
  if (!tablist) return null;
  // a live region of its own: the room's announcer speaks for the agenda in the same update
  const announcer = byId("console-layout-announcer");
  const announce = (text) => setText(announcer, text);
  const tabs = new Map(PANELS.map((name) => [name, byId(`console-tab-${name}`)]));
  const panels = new Map(PANELS.map((name) => [name, byId(`console-panel-${name}`)]));
  const top = byId("console-top");
  let shown = PANELS.find((name) => tabs.get(name).getAttribute("aria-selected") === "true");
  let chosenAt = null;
  let suitable = null;
  const labelOf = (name) => tabs.get(name).querySelector(".tab-label").textContent;

  function suggest(name) {
    for (const [each, tab] of tabs) tab.querySelector(".tab-suggested").hidden = each !== name;
  }

  function show(name, { chosen = false, focus = null } = {}) {
    if (chosen) chosenAt = Date.now();
    if (name !== shown) {
      for (const [each, tab] of tabs) {
        const on = each === name;
        tab.setAttribute("aria-selected", on ? "true" : "false");
        tab.tabIndex = on ? 0 : -1;
        panels.get(each).hidden = !on;
      }
      shown = name;
      bringIntoView(panels.get(name));
    }
    if (name === suitable) suggest(null);
    if (focus === "tab") tabs.get(name).focus();
    if (focus === "panel") panels.get(name).focus();
  }

  // After scrolling down a long panel, a new one starts right under the bar.
  function bringIntoView(panel) {
    const below = top ? top.getBoundingClientRect().bottom : 0;
    if (panel.getBoundingClientRect().top < below) panel.scrollIntoView({ block: "start" });
  }

  tablist.addEventListener("click", (click) => {
    const tab = click.target.closest("[role=tab]");
    if (tab) show(tab.dataset.panel, { chosen: true, focus: "tab" });
  });
  tablist.addEventListener("keydown", (key) => {
    const at = PANELS.indexOf(key.target.closest("[role=tab]")?.dataset.panel ?? shown);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: PANELS.length - 1 }[key.key];
    if (to === undefined || key.altKey || key.ctrlKey || key.metaKey) return;
    key.preventDefault();
    show(PANELS[(to + PANELS.length) % PANELS.length], { chosen: true, focus: "tab" });
  });
  document.addEventListener("keydown", (key) => {
    const name = shortcutPanel(key);
    if (!name) return;
    key.preventDefault();
    show(name, { chosen: true, focus: "panel" });
  });

  function follow(state, first) {
    const now = suitablePanel(state);
    if (now === suitable) return;
    suitable = now;
    const working = panels.get(shown).contains(document.activeElement);
    const action = onSuitableChange({ suitable, shown, chosenAt, now: Date.now(), working });
    if (action === "switch") {
      show(suitable);
      if (!first) announce(format(gettext("Showing the panel %(panel)s."), { panel: labelOf(suitable) }));
    } else if (action === "offer") {
      suggest(suitable);
      announce(format(gettext("The panel %(panel)s suits this item: Alt+Shift+%(key)s."),
        { panel: labelOf(suitable), key: PANELS.indexOf(suitable) + 1 }));
    } else {
      suggest(null);
    }
  }

  const handsBadge = tabs.get("people").querySelector(".tab-badge");
  function countHands(state) {
    const count = state.phase === "live" ? state.hands.length : 0;
    handsBadge.hidden = count === 0;
    setText(handsBadge, count ? format(ngettext("%(count)s hand raised", "%(count)s hands raised", count),
      { count }) : "");
  }

  listeners.push((state, previous) => {
    follow(state, !previous);
    countHands(state);
  });
  keepFocusClear(top);
  return { show, shown: () => shown };
}

// The bar stays on top of the page while it scrolls (on wide, tall enough screens): keep
// what has the keyboard focus from sliding under it, by scrolling with that much padding.
function keepFocusClear(top) {
  if (!top || typeof ResizeObserver === "undefined") return;
  const root = document.documentElement;
  const measure = () => {
    const sticky = getComputedStyle(top).position === "sticky";
    root.style.setProperty("scroll-padding-top", sticky ? `${Math.ceil(top.offsetHeight) + 8}px` : "");
  };
  new ResizeObserver(measure).observe(top);
  window.addEventListener("resize", measure);
  measure();
}
