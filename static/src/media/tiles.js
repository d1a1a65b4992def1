// The video tiles of a media panel (the breakout group, the plenary stage): one <li> per
// person with their video, their name as text and a "speaking" badge; the remote sound;
// the speaking meter; the microphone and camera buttons. My own tile is LOCAL, first.

import { el, setText } from "../dom.js";
import { gettext } from "../i18n.js";

export const LOCAL = "local";

export class Tiles {
  // list: the <ul>; attribute: the data attribute naming each tile's key; local: LocalMedia;
  // meter: SpeakingMeter; remote: the mute/camera indicators (remote-state.js);
  // onChange: after a tile came or went; onSoundBlocked: the browser refused to play sound.
  constructor({ list, attribute, local, meter, remote, onChange = () => {}, onSoundBlocked }) {
    Object.assign(this, { list, attribute, local, meter, remote, onChange, onSoundBlocked });
    this.entries = new Map(); // key -> {item, video, audio, badge, label, speaking}
  }

  get size() { return this.entries.size; }

  get(key) { return this.entries.get(key); }

  keys() { return [...this.entries.keys()]; }

  tile(key, name) {
    let entry = this.entries.get(key);
    if (!entry) {
      const video = el("video", { autoplay: true, playsinline: true, muted: true });
      video.muted = true; // the sound plays through the <audio> (remote) or not at all (mine)
      const badge = el("span", { class: "media-speaking", hidden: true }, gettext("speaking"));
      const label = el("p", { class: "media-name" });
      const item = el("li", { class: "media-tile", [this.attribute]: key }, video, label, badge);
      entry = { item, video, audio: null, badge, label, speaking: false };
      this.entries.set(key, entry);
      if (key === LOCAL) this.list.prepend(item);
      else this.list.append(item);
      this.onChange();
    }
    setText(entry.label, name);
    return entry;
  }

  // the ring and the word "speaking"; never on my own tile while I am muted
  showSpeaking(key) {
    const entry = this.entries.get(key);
    if (!entry) return;
    const on = entry.speaking && !(key === LOCAL && this.local.muted);
    entry.item.classList.toggle("is-speaking", on);
    entry.badge.hidden = !on;
  }

  watch(key, stream) {
    this.meter.watch(key, stream, (on) => {
      const entry = this.entries.get(key);
      if (!entry) return;
      entry.speaking = on;
      this.showSpeaking(key);
    });
  }

  // Someone else's stream: their video, and their sound through an <audio> of the tile.
  play(key, stream) {
    const entry = this.entries.get(key);
    if (entry.video.srcObject !== stream) entry.video.srcObject = stream;
    if (!entry.audio) {
      entry.audio = el("audio", { autoplay: true });
      entry.item.append(entry.audio);
    }
    if (entry.audio.srcObject !== stream) entry.audio.srcObject = stream;
    entry.audio.play().catch(() => this.onSoundBlocked());
    if (stream.getAudioTracks().length) this.watch(key, stream);
  }

  drop(key) {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.meter.unwatch(key);
    this.remote.detach(key);
    entry.video.srcObject = null;
    if (entry.audio) entry.audio.srcObject = null;
    entry.item.remove();
    this.entries.delete(key);
    this.onChange();
  }

  // Drop every tile but mine and those `keep(key)` wants.
  dropOthers(keep) {
    for (const key of this.keys()) if (key !== LOCAL && !keep(key)) this.drop(key);
  }

  resumeSound() {
    this.meter.resume();
    for (const entry of this.entries.values()) entry.audio?.play().catch(() => {});
  }
}

// The microphone and camera buttons, and the "turn on sound" button the browser may need.
// `render` redraws the controls; the others tell the room (indicators) and the person.
export function bindMediaButtons({ mute, camera, sound }, { tiles, remote, render, announce }) {
  const { local } = tiles;
  mute.addEventListener("click", () => {
    local.setMuted(!local.muted);
    tiles.meter.resume();
    render();
    remote.announceState();
    announce(local.muted ? gettext("Your microphone is muted.") : gettext("Your microphone is on."));
  });
  camera.addEventListener("click", () => {
    local.setCameraOff(!local.cameraOff);
    render();
    remote.announceState();
    announce(local.cameraOff ? gettext("Your camera is off.") : gettext("Your camera is on."));
  });
  sound?.addEventListener("click", () => {
    tiles.resumeSound();
    sound.hidden = true;
  });
}
