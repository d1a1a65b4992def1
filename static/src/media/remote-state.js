// Whose microphone and camera are on, on the remote tiles of the breakout mesh and of the
// plenary stage, and the runners' "Mute <name>" button. The server relays each tab's own
// state (`media.state`), tells a tab that starts watching what is known (`media.states`),
// and passes a runner's mute to the person's tabs (`media.muted`): the tab that sends
// media mutes its microphone and says so. Only the person can turn it on again.
//
// The pure functions below decide; `bindRemoteState` wires them to a socket, a LocalMedia
// and the tiles of one of the two media panels (room-media.js, stage.js).

import { el } from "../dom.js";
import { format, gettext } from "../i18n.js";
import { RUNNER_ROLES } from "./stage-state.js";

// --- pure ----------------------------------------------------------------------------------

// A `media.state` message (or an entry of `media.states`) cleaned: {person_id, audio, video}
// with the person id as a string (as tiles key them), or null when it is not one.
export function readMediaState(message) {
  if (!message || message.person_id == null) return null;
  if (typeof message.audio !== "boolean" || typeof message.video !== "boolean") return null;
  return { person_id: String(message.person_id), audio: message.audio, video: message.video };
}

// The states after one message: a new Map, person_id -> {audio, video}.
export function applyMediaState(states, message) {
  const state = readMediaState(message);
  if (!state) return states;
  const next = new Map(states);
  next.set(state.person_id, { audio: state.audio, video: state.video });
  return next;
}

// The states after a `media.states` answer, keeping what was pushed while it was on its way
// (`pushed`: person ids; a push is newer than the answer).
export function mergeMediaStates(states, list, pushed = new Set()) {
  const next = new Map();
  for (const entry of Array.isArray(list) ? list : []) {
    const state = readMediaState(entry);
    if (state) next.set(state.person_id, { audio: state.audio, video: state.video });
  }
  for (const personId of pushed) if (states.has(personId)) next.set(personId, states.get(personId));
  return next;
}

// What a tab sends: on means a track that is there and enabled.
export function localMediaState(local) {
  return {
    audio: Boolean(local.track("audio")) && !local.muted,
    video: Boolean(local.track("video")) && !local.cameraOff,
  };
}

// The text flags a remote tile shows (never colour alone); none while the state is unknown.
export function stateFlags(state) {
  if (!state) return { microphoneOff: false, cameraOff: false };
  return { microphoneOff: !state.audio, cameraOff: !state.video };
}

// Runners (facilitator, programme lead) may mute others; the server checks it again.
export const mayMuteOthers = (you) => Boolean(you) && RUNNER_ROLES.has(you.role);

export const muteLabel = (name) => format(gettext("Mute %(name)s"), { name: name || gettext("this person") });

// --- the binder ----------------------------------------------------------------------------

// transport: SocketTransport of the gathering; local: LocalMedia; you(): the snapshot's `you`;
// sending(): whether this panel sends my media now; onLocalChange(): redraw my controls.
export function bindRemoteState({ transport, local, you, announce, sending, onLocalChange = () => {} }) {
  let states = new Map();
  let pushed = null; // person ids pushed while a `media.states` is on its way
  let stale = true; // pushes may have been missed (not asked yet, or the socket dropped)
  const tiles = new Map(); // tile key -> {item, personId, name, mic, camera, button}

  function render(entry) {
    const flags = stateFlags(states.get(entry.personId));
    entry.mic.hidden = !flags.microphoneOff;
    entry.camera.hidden = !flags.cameraOff;
    entry.flags.hidden = !flags.microphoneOff && !flags.cameraOff;
    if (entry.button) entry.button.textContent = muteLabel(entry.name);
  }

  const renderPerson = (personId) => {
    for (const entry of tiles.values()) if (entry.personId === personId) render(entry);
  };

  async function mute(entry) {
    const answer = await transport.request("media.mute", { person_id: Number(entry.personId) });
    announce(answer && answer.ok ? format(gettext("You muted %(name)s."), { name: entry.name })
      : gettext("Could not mute that person."));
  }

  function build(key, item, personId) {
    const mic = el("span", { class: "media-flag" }, gettext("microphone off"));
    const camera = el("span", { class: "media-flag" }, gettext("camera off"));
    const flags = el("p", { class: "media-flags" }, mic, " ", camera);
    const entry = { item, personId, name: "", mic, camera, flags, button: null };
    item.append(flags);
    if (mayMuteOthers(you())) {
      entry.button = el("button", { type: "button", class: "secondary media-mute-other" });
      entry.button.addEventListener("click", () => mute(entry));
      item.append(el("div", { class: "media-tile-actions" }, entry.button));
    }
    tiles.set(key, entry);
    return entry;
  }

  // Show the flags (and, for runners, the mute button) on a remote tile; again is harmless.
  function attach(key, item, who) {
    if (!item || !who || who.person_id == null) return;
    const personId = String(who.person_id);
    let entry = tiles.get(key);
    if (!entry || entry.item !== item) entry = build(key, item, personId);
    entry.personId = personId;
    entry.name = who.name || "";
    render(entry);
    if (stale) refresh();
  }

  const detach = (key) => { tiles.delete(key); };

  // Tell the others my state (when this panel sends my media).
  function announceState() {
    if (!sending()) return Promise.resolve(null);
    return transport.request("media.state", localMediaState(local));
  }

  // Learn what is known now: when the first remote tile shows, and again after a reconnect
  // (the room pushes every change from then on).
  async function refresh() {
    stale = false;
    pushed = new Set();
    const answer = await transport.request("media.states");
    const during = pushed;
    pushed = null;
    if (!answer || !answer.ok) {
      stale = true;
      return;
    }
    states = mergeMediaStates(states, answer.states, during);
    for (const entry of tiles.values()) render(entry);
  }

  const dropped = () => { stale = true; };
  transport.socket.on("disconnect", dropped);
  const off = [
    () => transport.socket.off("disconnect", dropped),
    transport.on("media.state", (message) => {
      states = applyMediaState(states, message);
      const state = readMediaState(message);
      if (!state) return;
      pushed?.add(state.person_id);
      renderPerson(state.person_id);
    }),
    transport.on("media.muted", () => {
      if (!sending() || !local.track("audio")) return;
      local.setMuted(true);
      onLocalChange();
      announceState();
      announce(gettext("The facilitator muted your microphone."));
    }),
  ];

  return { attach, detach, announceState, refresh, states: () => states, destroy: () => off.forEach((f) => f()) };
}
