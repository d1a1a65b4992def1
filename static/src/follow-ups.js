// The follow-ups due at this gathering, in the room while an agenda item that brings them up
// is current (a plenary or breakout item planned with "list the follow-ups due here", its
// `follow_ups`). They are the forum's, not the live state's: fetched from
// /g/<id>/follow-ups.json each time such an item becomes current, so the list shows the
// owners' latest reports. Text only ever reaches the page as text.

import { byId, el, setText } from "./dom.js";
import { gettext } from "./i18n.js";
import { currentSlot } from "./reducer.js";

export function statusLabel(status) {
  if (status === "open") return gettext("Open");
  if (status === "doing") return gettext("Under way"); // the phase label "In progress" reads otherwise
  if (status === "done") return gettext("Done");
  if (status === "dropped") return gettext("Dropped");
  return status;
}

export function renderFollowUps(list, followUps) {
  list.replaceChildren(...followUps.map((f) => el("li", { class: "follow-up" },
    el("p", { class: "follow-up-owner" },
      el("strong", {}, f.municipality), " · ", statusLabel(f.status)),
    el("p", { class: "follow-up-text" }, f.text),
    f.report ? el("p", { class: "follow-up-report" }, f.report) : null)));
}

// Which item's list is wanted now: the current item's id if it lists follow-ups, else null.
export function wantedItem(state) {
  const slot = state.phase === "live" ? currentSlot(state) : null;
  return slot && slot.follow_ups ? slot.id : null;
}

export function setupFollowUps({ boot, listeners }) {
  const section = byId("follow-ups-due");
  if (!section) return;
  const list = byId("follow-ups-due-list");
  const status = byId("follow-ups-due-status");
  let shownFor = null;

  async function load() {
    setText(status, gettext("Loading the follow-ups…"));
    try {
      const response = await fetch(`/g/${encodeURIComponent(boot.gathering)}/follow-ups.json`,
        { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      const { follow_ups: followUps } = await response.json();
      renderFollowUps(list, followUps);
      setText(status, followUps.length ? "" : gettext("No follow-ups are due at this gathering."));
    } catch {
      setText(status, gettext("The follow-ups could not be loaded. Reload the page to try again."));
    }
  }

  listeners.push((state) => {
    const wanted = wantedItem(state);
    if (wanted === shownFor) return;
    shownFor = wanted;
    section.hidden = wanted === null;
    if (wanted !== null) load();
  });
}
