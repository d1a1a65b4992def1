// Video in the breakout group: while I am in an open group, my camera and microphone go
// to everyone in it (the mesh) and their video tiles show here, with mute, camera off,
// device choice and who is speaking. Recalled: the links close and the camera stops.
// The console passes `visit(state)`: the group whose video the facilitator visits, or null.
// One media presence per person: when another tab of mine joins, this one stops its camera
// and microphone and offers to take the video back (which joins again, replacing the other).

import { byId, setText } from "../dom.js";
import { format, gettext } from "../i18n.js";
import { renderDeviceSelects } from "./device-select.js";
import { LocalMedia } from "./local-media.js";
import { Mesh, SocketTransport } from "./mesh.js";
import { groupIdOf, keepInMesh, meshKeyFor } from "./negotiation.js";
import { bindRemoteState } from "./remote-state.js";
import { SpeakingMeter } from "./speaking.js";
import { bindMediaButtons, LOCAL, Tiles } from "./tiles.js";
import { groupName } from "./visit.js";

const RETRY_MS = 3000;

export function setupMedia({ client, session, boot, listeners, announce = () => {} },
  { visit = null } = {}) {
  const ui = {
    box: byId("media-box"), heading: byId("media-heading"), status: byId("media-status"),
    tiles: byId("media-tiles"),
    mute: byId("media-mute"), camera: byId("media-camera"), sound: byId("media-sound"),
    cameraSelect: byId("media-camera-select"), micSelect: byId("media-mic-select"),
    replaced: byId("media-replaced"), replacedText: byId("media-replaced-text"),
    takeBack: byId("media-take-back"), controls: byId("media-controls"),
  };
  if (!ui.box || !globalThis.RTCPeerConnection) return null;

  const local = new LocalMedia();
  const meter = new SpeakingMeter();
  const mesh = new Mesh({
    transport: new SocketTransport(client.socket, boot.gathering),
    localMedia: local,
    onPeers: (peers) => renderPeers(peers),
    onRemoteStream: (peer, stream, who) => showStream(peer, stream, who),
    onRemoteGone: (peer) => tiles.drop(peer),
    onReplaced: () => handOver(),
  });
  let current = null; // the mesh key I am in (round:group), or null
  let wanted = null;
  let wantedGroup = null; // the group of `wanted`: mine, or the one I visit
  let currentGroup = null;
  const groupOf = visit || ((state) => groupIdOf(state, boot.person_id));
  let busy = false;
  let rejoin = false;
  let retry = null;
  let replaced = false; // another tab of mine has the video, until taken back here
  const target = () => (replaced ? null : wanted);
  const remote = bindRemoteState({
    transport: mesh.transport, local, announce, you: () => session && session.state && session.state.you,
    sending: () => current !== null && Boolean(local.stream), onLocalChange: () => renderControls(),
  });
  const tiles = new Tiles({
    list: ui.tiles, attribute: "data-peer", local, meter, remote,
    onSoundBlocked: () => { if (ui.sound) ui.sound.hidden = false; },
  });

  // --- tiles -------------------------------------------------------------------------------

  function showStream(peer, stream, who) {
    remote.attach(peer, tiles.tile(peer, who ? who.name : "").item, who);
    tiles.play(peer, stream);
  }

  // a tile with a name for everyone allowed, even before their video arrives
  function renderPeers(peers) {
    for (const [peer, who] of peers) remote.attach(peer, tiles.tile(peer, who.name || "").item, who);
    tiles.dropOthers((key) => peers.has(key));
  }

  function showLocal() {
    const you = session && session.state && session.state.you;
    const name = you && you.name ? format(gettext("%(name)s (you)"), { name: you.name }) : gettext("You");
    const entry = tiles.tile(LOCAL, name);
    if (local.stream && entry.video.srcObject !== local.stream) entry.video.srcObject = local.stream;
    tiles.watch(LOCAL, local.stream);
  }

  // --- controls ----------------------------------------------------------------------------

  function renderControls() {
    const hasAudio = Boolean(local.track("audio"));
    const hasVideo = Boolean(local.track("video"));
    ui.mute.setAttribute("aria-pressed", String(local.muted));
    ui.camera.setAttribute("aria-pressed", String(local.cameraOff));
    ui.mute.disabled = !hasAudio;
    ui.camera.disabled = !hasVideo;
    tiles.get(LOCAL)?.item.classList.toggle("is-camera-off", local.cameraOff);
    tiles.showSpeaking(LOCAL);
  }

  function renderDevices() {
    return renderDeviceSelects(local, ui.cameraSelect, ui.micSelect);
  }

  async function chooseDevice(kind, select) {
    if (!select.value) return;
    try {
      const track = await local.useDevice(kind, select.value);
      await mesh.replaceTrack(kind, track);
      if (kind === "audio") tiles.watch(LOCAL, local.stream);
      setText(ui.status, "");
    } catch {
      setText(ui.status, gettext("That device could not be started."));
    }
    renderControls();
  }

  bindMediaButtons(ui, { tiles, remote, render: renderControls, announce });
  ui.cameraSelect?.addEventListener("change", () => chooseDevice("video", ui.cameraSelect));
  ui.micSelect?.addEventListener("change", () => chooseDevice("audio", ui.micSelect));
  navigator.mediaDevices?.addEventListener?.("devicechange", () => { if (current) renderDevices(); });

  // --- joining and leaving -----------------------------------------------------------------

  async function enter(group) {
    if (!local.stream) {
      setText(ui.status, gettext("Starting your camera and microphone…"));
      await local.start();
      if (!local.track("video") && !local.track("audio")) {
        setText(ui.status, gettext("No camera or microphone: you can watch and listen."));
      } else setText(ui.status, "");
      showLocal();
      renderControls();
      renderDevices();
    }
    const answer = await mesh.join(visit ? { group } : {});
    if (replaced) return true; // another tab took the video while this join was on its way
    if (!answer.ok) {
      setText(ui.status, gettext("Could not connect the video. Trying again…"));
      return false;
    }
    if (ui.status.textContent === gettext("Could not connect the video. Trying again…")) setText(ui.status, "");
    remote.announceState();
    return true;
  }

  async function exit() {
    await mesh.leave();
    for (const key of tiles.keys()) tiles.drop(key);
    local.stop();
    meter.close();
    setText(ui.status, "");
    if (ui.sound) ui.sound.hidden = true;
  }

  // Bring the mesh in line with `wanted` (none while another tab has it), one step at a time.
  async function settle() {
    if (busy) return;
    busy = true;
    try {
      while (target() !== current || (rejoin && current)) {
        const goal = target();
        const group = wantedGroup;
        if (goal === null) {
          await exit();
          [current, currentGroup] = [null, null];
        } else {
          rejoin = false;
          current = goal;
          currentGroup = group;
          ui.box.hidden = false;
          if (!(await enter(group))) {
            clearTimeout(retry);
            retry = setTimeout(() => { rejoin = true; settle(); }, RETRY_MS);
            break;
          }
        }
      }
    } finally {
      busy = false;
      renderBox();
    }
  }

  // the panel shows while I am in a group's video, or could take it back from another tab
  function renderBox() {
    const elsewhere = replaced && wanted !== null;
    if (ui.replaced) ui.replaced.hidden = !elsewhere;
    if (ui.controls) ui.controls.hidden = elsewhere; // no devices to choose while off here
    ui.box.hidden = current === null && !elsewhere;
  }

  function handOver() {
    replaced = true;
    settle(); // stops the camera and microphone (exit), then shows how to take it back
    if (ui.replacedText) announce(ui.replacedText.textContent);
  }

  ui.takeBack?.addEventListener("click", () => {
    replaced = false;
    settle();
    renderBox();
    ui.heading.focus(); // the button is gone: keep the keyboard in the panel
  });

  // a new socket after a reconnect has a new peer id: join again once the room is back
  client.on("connect", () => { rejoin = true; });
  function update(state) {
    if (client.connected) {
      wantedGroup = groupOf(state);
      wanted = meshKeyFor(state, wantedGroup);
    } else [wanted, wantedGroup] = [current, currentGroup];
    if (visit && wanted !== null) {
      setText(ui.heading, format(gettext("Video in %(group)s"), { group: groupName(state, wantedGroup) }));
    }
    if (target() !== current || (rejoin && target())) settle();
    else if (current && !busy) mesh.restrictTo(keepInMesh(state, wantedGroup));
    if (!busy) renderBox();
  }
  listeners.push(update);

  // `visit` changed its mind (the console's toggle): follow it without waiting for an event.
  // A choice made in this tab, so it takes the video back here from another tab.
  const refresh = () => {
    replaced = false;
    if (session && session.state) update(session.state);
  };
  const api = { links: () => mesh.links(), mesh, local, refresh };
  globalThis.forumMedia = api;
  return api;
}
