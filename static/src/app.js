// The gathering room, shared by the participant page and the facilitator console:
// connection, catch-up, rendering, countdown, hand raising and chat.

import { ProtocolClient } from "./client.js";
import { serverTime } from "./clock.js";
import { setupChat } from "./chat.js";
import { byId, setText } from "./dom.js";
import { format, gettext, loadCatalogue, readJson } from "./i18n.js";
import { breakoutAnnouncements } from "./breakouts.js";
import { hasHandUp } from "./reducer.js";
import { RoomSession } from "./session.js";
import {
  phaseLabel, renderAgenda, renderCurrent, renderPresence, renderQueue, renderTimer, setStages,
} from "./view.js";

const TICK_MS = 250;

export function errorText(error) {
  if (error.code === "forbidden") return gettext("You are not allowed to do that.");
  if (error.code === "rate_limited") return gettext("Too many actions at once. Wait a moment and try again.");
  if (error.code === "unauthenticated") return gettext("You are signed out. Open your sign-in link again.");
  if (error.code === "not_found") return gettext("This gathering does not exist.");
  return format(gettext("Not possible: %(reason)s"), { reason: error.message });
}

function announcements(state, previous, you) {
  const said = [];
  if (!previous) return said;
  const speaker = state.speaker && state.speaker.person_id;
  if (speaker && speaker !== (previous.speaker && previous.speaker.person_id)) {
    said.push(speaker === you ? gettext("You have the floor.")
      : format(gettext("%(name)s has the floor."), { name: state.speaker.name }));
  }
  if (state.phase === "ended" && previous.phase !== "ended") said.push(gettext("The gathering has ended."));
  if (state.phase === "live" && previous.phase === "lobby") said.push(gettext("The room is open."));
  const grouped = breakoutAnnouncements(state, previous, you);
  // A breakout item's groups close with the item: their warning says it already.
  const warned = state.current && state.current.warned && previous.current
    && previous.current.item_id === state.current.item_id && !previous.current.warned;
  if (warned && !grouped.warned) said.push(gettext("One minute left of this agenda item."));
  if (state.current && previous.current && state.current.item_id === previous.current.item_id) {
    if (state.current.paused_at != null && previous.current.paused_at == null) said.push(gettext("The timer is paused."));
    if (state.current.paused_at == null && previous.current.paused_at != null) said.push(gettext("The timer runs again."));
  }
  return [...said, ...grouped.said];
}

export function startRoom() {
  loadCatalogue(readJson("i18n"));
  const boot = readJson("boot");
  setStages(boot.stages);
  const ui = {
    phase: byId("phase"), banner: byId("connection"), announcer: byId("announcer"),
    status: byId("status"), agenda: byId("agenda"), current: byId("current-title"),
    timer: byId("timer"), hands: byId("hands"), handsEmpty: byId("hands-empty"),
    speaker: byId("speaker"), presence: byId("presence"), presenceCount: byId("presence-count"),
    handToggle: byId("hand-toggle"),
  };
  const client = new ProtocolClient(boot.gathering);
  const listeners = [];
  let wasOverrun = false;

  const announce = (text) => setText(ui.announcer, text);
  const setStatus = (text) => setText(ui.status, text);
  const showError = (error) => setStatus(errorText(error));

  function render(state, previous) {
    setText(ui.phase, phaseLabel(state.phase));
    if (!previous || state.agenda !== previous.agenda || state.current !== previous.current) {
      renderAgenda(ui.agenda, state);
      wasOverrun = false;
    }
    renderCurrent(ui.current, state);
    if (!previous || state.hands !== previous.hands || state.speaker !== previous.speaker
      || state.presence !== previous.presence) { // the queue marks who is not here
      renderQueue(ui.hands, ui.handsEmpty, ui.speaker, state);
    }
    if (!previous || state.presence !== previous.presence) {
      renderPresence(ui.presence, ui.presenceCount, state);
    }
    renderHandToggle(state);
    const said = announcements(state, previous, boot.person_id);
    if (said.length) announce(said.join(" "));
    tick();
    for (const listener of listeners) listener(state, previous);
  }

  const session = new RoomSession(client, { onChange: render, onError: showError });

  function tick() {
    if (!session.state) return;
    const overrun = renderTimer(ui.timer, session.state, serverTime(session.offset));
    if (overrun && !wasOverrun) announce(gettext("Time is up for this agenda item."));
    wasOverrun = overrun;
  }

  // While a command is on its way the button ignores clicks but stays enabled, so it
  // keeps the keyboard focus.
  let handBusy = false;
  function renderHandToggle(state) {
    if (!ui.handToggle) return;
    const up = hasHandUp(state, boot.person_id);
    setText(ui.handToggle, up ? gettext("Lower hand") : gettext("Raise hand"));
    ui.handToggle.disabled = state.phase !== "live";
  }

  ui.handToggle?.addEventListener("click", async () => {
    const state = session.state;
    if (!state || handBusy) return;
    handBusy = true;
    const type = hasHandUp(state, boot.person_id) ? "hand.lower" : "hand.raise";
    const answer = await client.send(type);
    handBusy = false;
    if (answer.ok) setStatus("");
    else showError(answer.error);
    renderHandToggle(session.state);
  });

  setupChat({ client, session, boot, listeners, showError });

  client.on("connect", () => {
    setText(ui.banner, "");
    session.join();
    client.resendPending();
  });
  client.on("disconnect", () => setText(ui.banner, gettext("Reconnecting…")));
  // While the server's workers cannot reach each other, we may miss what happens; when they
  // can again, the session catches up by itself (session.js).
  client.on("bus", (state) => {
    if (state === "down") setText(ui.banner, gettext("Reconnecting…"));
    if (state === "up") setText(ui.banner, "");
  });
  client.on("connect_error", (error, retrying) => {
    setText(ui.banner, retrying ? gettext("Reconnecting…")
      : gettext("Could not connect. Open your sign-in link again."));
  });
  setInterval(tick, TICK_MS);
  client.connect();
  return { boot, client, session, listeners, setStatus, showError, announce };
}
