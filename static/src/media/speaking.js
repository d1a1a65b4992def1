// Who is speaking: the level of each audio track from a WebAudio AnalyserNode, with a
// little hysteresis so the ring does not flicker between words.

export const SPEAKING_ON = 0.02;
export const SPEAKING_OFF = 0.01;
export const HOLD_MS = 600;
const POLL_MS = 100;

// Root mean square of time-domain samples in [-1, 1].
export function levelOf(samples) {
  if (!samples.length) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}

// {speaking, since}: on above SPEAKING_ON, off once below SPEAKING_OFF for HOLD_MS.
export function nextSpeaking({ speaking, quietSince }, level, now) {
  if (level >= SPEAKING_ON) return { speaking: true, quietSince: null };
  if (!speaking) return { speaking: false, quietSince: null };
  if (level >= SPEAKING_OFF) return { speaking: true, quietSince: null };
  const since = quietSince ?? now;
  return now - since >= HOLD_MS ? { speaking: false, quietSince: null } : { speaking: true, quietSince: since };
}

export class SpeakingMeter {
  constructor({ AudioContextClass = globalThis.AudioContext } = {}) {
    this.AudioContextClass = AudioContextClass;
    this.context = null;
    this.watched = new Map(); // key -> {source, analyser, buffer, state, onChange}
    this.timer = null;
  }

  watch(key, stream, onChange) {
    this.unwatch(key);
    if (!this.AudioContextClass || !stream || stream.getAudioTracks().length === 0) return;
    if (!this.context) this.context = new this.AudioContextClass();
    const source = this.context.createMediaStreamSource(stream);
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    this.watched.set(key, { source, analyser, buffer: new Float32Array(analyser.fftSize),
      state: { speaking: false, quietSince: null }, onChange });
    if (!this.timer) this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  unwatch(key) {
    const entry = this.watched.get(key);
    if (!entry) return;
    entry.source.disconnect();
    this.watched.delete(key);
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  // Browsers start an AudioContext suspended until the person does something.
  resume() {
    if (this.context && this.context.state === "suspended") this.context.resume().catch(() => {});
  }

  poll() {
    const now = Date.now();
    for (const entry of this.watched.values()) {
      entry.analyser.getFloatTimeDomainData(entry.buffer);
      const next = nextSpeaking(entry.state, levelOf(entry.buffer), now);
      const changed = next.speaking !== entry.state.speaking;
      entry.state = next;
      if (changed) entry.onChange(next.speaking);
    }
  }

  close() {
    for (const key of [...this.watched.keys()]) this.unwatch(key);
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
  }
}
