// The camera and microphone of this browser: one MediaStream, muted and camera-off by
// track.enabled (the link keeps sending, silence and black), devices swapped in place.

export const VIDEO_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 360 } };

// getUserMedia constraints for a chosen device (or the default one) of each kind.
export function constraintsFor({ audioDevice = null, videoDevice = null, audio = true, video = true } = {}) {
  return {
    audio: audio ? (audioDevice ? { deviceId: { exact: audioDevice } } : true) : false,
    video: video ? { ...VIDEO_CONSTRAINTS, ...(videoDevice ? { deviceId: { exact: videoDevice } } : {}) } : false,
  };
}

// Devices of one kind as [{id, label}], with a numbered label when the browser hides it.
export function deviceOptions(devices, kind, fallbackLabel) {
  return devices.filter((d) => d.kind === kind && d.deviceId)
    .map((d, i) => ({ id: d.deviceId, label: d.label || `${fallbackLabel} ${i + 1}` }));
}

export class LocalMedia {
  constructor({ mediaDevices = globalThis.navigator && navigator.mediaDevices } = {}) {
    this.mediaDevices = mediaDevices;
    this.stream = null;
    this.muted = false;
    this.cameraOff = false;
    this.error = null;
  }

  // The camera and microphone, or what of them is there: video alone fails over to
  // audio alone, and with neither this person only watches and listens.
  async start() {
    if (this.stream) return this.stream;
    for (const wanted of [{}, { video: false }, { audio: false }]) {
      try {
        this.stream = await this.mediaDevices.getUserMedia(constraintsFor(wanted));
        this.error = null;
        break;
      } catch (error) {
        this.error = error;
      }
    }
    if (!this.stream) this.stream = new MediaStream();
    this.apply();
    return this.stream;
  }

  track(kind) {
    return this.stream ? this.stream.getTracks().find((t) => t.kind === kind) || null : null;
  }

  apply() {
    const audio = this.track("audio");
    const video = this.track("video");
    if (audio) audio.enabled = !this.muted;
    if (video) video.enabled = !this.cameraOff;
  }

  setMuted(muted) {
    this.muted = muted;
    this.apply();
  }

  setCameraOff(off) {
    this.cameraOff = off;
    this.apply();
  }

  async devices() {
    try {
      return await this.mediaDevices.enumerateDevices();
    } catch {
      return [];
    }
  }

  // Switch to another device of a kind ("audio" or "video"); returns the new track, for
  // the links to replace on their senders.
  async useDevice(kind, deviceId) {
    const fresh = await this.mediaDevices.getUserMedia(kind === "audio"
      ? constraintsFor({ video: false, audioDevice: deviceId })
      : constraintsFor({ audio: false, videoDevice: deviceId }));
    const track = fresh.getTracks().find((t) => t.kind === kind);
    const old = this.track(kind);
    if (old) {
      this.stream.removeTrack(old);
      old.stop();
    }
    this.stream.addTrack(track);
    this.apply();
    return track;
  }

  stop() {
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
  }
}
