// The camera and microphone of this browser: one MediaStream, muted and camera-off by
// track.enabled (the link keeps sending, silence and black), devices swapped in place.

// The breakout mesh's camera: each browser encodes it once per peer, adapting to each link.
export const VIDEO_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 360 } };
// The plenary stage's camera: at most 640×360 and 30 frames a second, as the server's
// Janus engine forwards what the publisher sends to every listener (the aiortc engine
// re-encoded at 640×360).
export const STAGE_VIDEO_CONSTRAINTS = {
  width: { ideal: 640, max: 640 }, height: { ideal: 360, max: 360 }, frameRate: { ideal: 24, max: 30 },
};

// getUserMedia constraints for a chosen device (or the default one) of each kind; `camera`:
// the video constraints besides the device.
export function constraintsFor({
  audioDevice = null, videoDevice = null, audio = true, video = true, camera = VIDEO_CONSTRAINTS,
} = {}) {
  return {
    audio: audio ? (audioDevice ? { deviceId: { exact: audioDevice } } : true) : false,
    video: video ? { ...camera, ...(videoDevice ? { deviceId: { exact: videoDevice } } : {}) } : false,
  };
}

// Devices of one kind as [{id, label}], with a numbered label when the browser hides it.
export function deviceOptions(devices, kind, fallbackLabel) {
  return devices.filter((d) => d.kind === kind && d.deviceId)
    .map((d, i) => ({ id: d.deviceId, label: d.label || `${fallbackLabel} ${i + 1}` }));
}

export class LocalMedia {
  // camera: the video constraints (VIDEO_CONSTRAINTS or STAGE_VIDEO_CONSTRAINTS)
  constructor({ mediaDevices = globalThis.navigator && navigator.mediaDevices, camera = VIDEO_CONSTRAINTS } = {}) {
    this.mediaDevices = mediaDevices;
    this.camera = camera;
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
        this.stream = await this.mediaDevices.getUserMedia(constraintsFor({ ...wanted, camera: this.camera }));
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
      : constraintsFor({ audio: false, videoDevice: deviceId, camera: this.camera }));
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
