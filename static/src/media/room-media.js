// Video in the breakout group: while I am in an open group, my camera and microphone go
// to everyone in it (the mesh) and their video tiles show here, with mute, camera off,
// device choice and who is speaking. Recalled: the links close and the camera stops.

import { byId, el, setText } from "../dom.js";
import { format, gettext } from "../i18n.js";
import { renderDeviceSelects } from "./device-select.js";
import { LocalMedia } from "./local-media.js";
import { Mesh, SocketTransport } from "./mesh.js";
import { groupMemberIds, meshKey } from "./negotiation.js";
import { SpeakingMeter } from "./speaking.js";

const LOCAL = "local";
const RETRY_MS = 3000;

export function setupMedia({ client, session, boot, listeners, announce = () => {} }) {
  const ui = {
    box: byId("media-box"), status: byId("media-status"), tiles: byId("media-tiles"),
    mute: byId("media-mute"), camera: byId("media-camera"), sound: byId("media-sound"),
    cameraSelect: byId("media-camera-select"), micSelect: byId("media-mic-select"),
  };
  if (!ui.box || !globalThis.RTCPeerConnection) return null;

  const local = new LocalMedia();
  const meter = new SpeakingMeter();
  const tiles = new Map(); // key -> {item, video, audio, badge}
  const mesh = new Mesh({
    transport: new SocketTransport(client.socket, boot.gathering),
    localMedia: local,
    onPeers: (peers) => renderPeers(peers),
    onRemoteStream: (peer, stream, who) => showStream(peer, stream, who),
    onRemoteGone: (peer) => dropTile(peer),
  });
  let current = null; // the mesh key I am in (round:group), or null
  let wanted = null;
  let busy = false;
  let rejoin = false;
  let retry = null;

  // --- tiles -------------------------------------------------------------------------------

  function tile(key, name) {
    let entry = tiles.get(key);
    if (!entry) {
      const video = el("video", { autoplay: true, playsinline: true, muted: true });
      video.muted = true; // the sound plays through the <audio> (remote) or not at all (mine)
      const badge = el("span", { class: "media-speaking", hidden: true }, gettext("speaking"));
      const label = el("p", { class: "media-name" });
      const item = el("li", { class: "media-tile", "data-peer": key }, video, label, badge);
      entry = { item, video, audio: null, badge, label };
      tiles.set(key, entry);
      if (key === LOCAL) ui.tiles.prepend(item);
      else ui.tiles.append(item);
    }
    setText(entry.label, name);
    return entry;
  }

  // the ring and the word "speaking"; never on my own tile while I am muted
  function showSpeaking(key) {
    const entry = tiles.get(key);
    if (!entry) return;
    const on = entry.speaking === true && !(key === LOCAL && local.muted);
    entry.item.classList.toggle("is-speaking", on);
    entry.badge.hidden = !on;
  }

  function speaking(key) {
    return (on) => {
      const entry = tiles.get(key);
      if (!entry) return;
      entry.speaking = on;
      showSpeaking(key);
    };
  }

  function showStream(peer, stream, who) {
    const entry = tile(peer, who ? who.name : "");
    if (entry.video.srcObject !== stream) entry.video.srcObject = stream;
    if (!entry.audio) {
      entry.audio = el("audio", { autoplay: true });
      entry.item.append(entry.audio);
    }
    if (entry.audio.srcObject !== stream) entry.audio.srcObject = stream;
    entry.audio.play().catch(() => { if (ui.sound) ui.sound.hidden = false; });
    if (stream.getAudioTracks().length) meter.watch(peer, stream, speaking(peer));
  }

  function dropTile(key) {
    const entry = tiles.get(key);
    if (!entry) return;
    meter.unwatch(key);
    entry.video.srcObject = null;
    if (entry.audio) entry.audio.srcObject = null;
    entry.item.remove();
    tiles.delete(key);
  }

  // a tile with a name for everyone allowed, even before their video arrives
  function renderPeers(peers) {
    for (const [peer, who] of peers) tile(peer, who.name || "");
    for (const key of [...tiles.keys()]) if (key !== LOCAL && !peers.has(key)) dropTile(key);
  }

  function showLocal() {
    const you = session && session.state && session.state.you;
    const name = you && you.name ? format(gettext("%(name)s (you)"), { name: you.name }) : gettext("You");
    const entry = tile(LOCAL, name);
    if (local.stream && entry.video.srcObject !== local.stream) entry.video.srcObject = local.stream;
    meter.watch(LOCAL, local.stream, speaking(LOCAL));
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
    showSpeaking(LOCAL);
  }

  function renderDevices() {
    return renderDeviceSelects(local, ui.cameraSelect, ui.micSelect);
  }

  async function chooseDevice(kind, select) {
    if (!select.value) return;
    try {
      const track = await local.useDevice(kind, select.value);
      await mesh.replaceTrack(kind, track);
      if (kind === "audio") meter.watch(LOCAL, local.stream, speaking(LOCAL));
      setText(ui.status, "");
    } catch {
      setText(ui.status, gettext("That device could not be started."));
    }
    renderControls();
  }

  ui.mute.addEventListener("click", () => {
    local.setMuted(!local.muted);
    meter.resume();
    renderControls();
    announce(local.muted ? gettext("Your microphone is muted.") : gettext("Your microphone is on."));
  });
  ui.camera.addEventListener("click", () => {
    local.setCameraOff(!local.cameraOff);
    renderControls();
    announce(local.cameraOff ? gettext("Your camera is off.") : gettext("Your camera is on."));
  });
  ui.cameraSelect?.addEventListener("change", () => chooseDevice("video", ui.cameraSelect));
  ui.micSelect?.addEventListener("change", () => chooseDevice("audio", ui.micSelect));
  ui.sound?.addEventListener("click", () => {
    meter.resume();
    for (const entry of tiles.values()) entry.audio?.play().catch(() => {});
    ui.sound.hidden = true;
  });
  navigator.mediaDevices?.addEventListener?.("devicechange", () => { if (current) renderDevices(); });

  // --- joining and leaving -----------------------------------------------------------------

  async function enter() {
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
    const answer = await mesh.join();
    if (!answer.ok) {
      setText(ui.status, gettext("Could not connect the video. Trying again…"));
      return false;
    }
    if (ui.status.textContent === gettext("Could not connect the video. Trying again…")) setText(ui.status, "");
    return true;
  }

  async function exit() {
    await mesh.leave();
    for (const key of [...tiles.keys()]) dropTile(key);
    local.stop();
    meter.close();
    setText(ui.status, "");
    if (ui.sound) ui.sound.hidden = true;
  }

  // Bring the mesh in line with `wanted`, one step at a time.
  async function settle() {
    if (busy) return;
    busy = true;
    try {
      while (wanted !== current || (rejoin && current)) {
        const target = wanted;
        if (target === null) {
          await exit();
          current = null;
        } else {
          rejoin = false;
          current = target;
          ui.box.hidden = false;
          if (!(await enter())) {
            clearTimeout(retry);
            retry = setTimeout(() => { rejoin = true; settle(); }, RETRY_MS);
            break;
          }
        }
      }
    } finally {
      busy = false;
      ui.box.hidden = current === null;
    }
  }

  // a new socket after a reconnect has a new peer id: join again once the room is back
  client.on("connect", () => { rejoin = true; });
  listeners.push((state) => {
    wanted = client.connected ? meshKey(state, boot.person_id) : current;
    if (wanted !== current || (rejoin && wanted)) settle();
    else if (current && !busy) mesh.restrictTo(groupMemberIds(state, boot.person_id));
  });

  const api = { links: () => mesh.links(), mesh, local };
  globalThis.forumMedia = api;
  return api;
}
