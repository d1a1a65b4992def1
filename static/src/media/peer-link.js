// One RTCPeerConnection to one other person in the breakout group, negotiated with the
// W3C "perfect negotiation" pattern: either side may offer at any time (tracks added,
// replaced, ICE restarted) and crossing offers never deadlock; the polite side yields.

import { decideOnDescription, mustQueueCandidate } from "./negotiation.js";

const MAX_QUEUED_CANDIDATES = 200;
const FIRST_OFFER_WAIT_MS = 4000;

export class PeerLink {
  // send(fields): relays {description} or {candidate} to the other peer (a `signal`).
  constructor({ peer, polite, iceServers = [], stream = null, send, onTrack = () => {},
    onStateChange = () => {}, RTCPeerConnectionClass = globalThis.RTCPeerConnection,
    firstOfferWaitMs = FIRST_OFFER_WAIT_MS }) {
    this.peer = peer;
    this.polite = polite;
    this.send = send;
    this.onTrack = onTrack;
    this.onStateChange = onStateChange;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.isSettingRemoteAnswerPending = false;
    this.queuedCandidates = [];
    this.closed = false;
    this.remoteStream = null;
    this.trace = []; // the last negotiation steps, for diagnosing a link that does not connect
    this.pc = new RTCPeerConnectionClass({ iceServers });

    this.pc.onnegotiationneeded = () => this.negotiate();
    this.pc.onicecandidate = ({ candidate }) => {
      if (!candidate) return;
      this.note(`local candidate ${candidate.usernameFragment}`);
      this.send({ candidate: candidate.toJSON() });
    };
    this.pc.ontrack = ({ track, streams }) => {
      this.remoteStream = streams[0] || this.remoteStream || new MediaStream();
      if (!streams[0]) this.remoteStream.addTrack(track);
      this.onTrack(this.remoteStream, track);
    };
    // On failure the impolite side restarts ICE (its offer); both at once would cross.
    this.pc.oniceconnectionstatechange = () => {
      if (this.pc.iceConnectionState === "failed" && !this.polite) this.pc.restartIce();
    };
    this.pc.onconnectionstatechange = () => {
      this.onStateChange(this.pc.connectionState);
    };
    // The first offer comes from the impolite side alone: the polite side adds its tracks
    // to the transceivers of that offer before answering (or after FIRST_OFFER_WAIT_MS
    // without one). Crossing first offers are negotiated correctly, but Chromium then
    // sometimes leaves the polite side's ICE agent without a single candidate.
    this.stream = stream;
    this.tracksAdded = false;
    this.firstOfferTimer = null;
    if (!polite) this.addLocalTracks();
    else this.firstOfferTimer = setTimeout(() => this.addLocalTracks(), firstOfferWaitMs);
  }

  addLocalTracks() {
    clearTimeout(this.firstOfferTimer);
    if (this.tracksAdded || this.closed) return;
    this.tracksAdded = true;
    const tracks = this.stream ? this.stream.getTracks() : [];
    for (const track of tracks) this.pc.addTrack(track, this.stream);
    // nothing to send: still offer to receive, so that the other side's media comes
    if (!this.polite) {
      for (const kind of ["audio", "video"]) {
        if (!tracks.some((t) => t.kind === kind)) this.pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
  }

  async negotiate() {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.note(`send ${this.pc.localDescription.type}`);
      this.send({ description: this.pc.localDescription.toJSON() });
    } catch (error) {
      if (!this.closed) console.warn("offer to", this.peer, "failed", error);
    } finally {
      this.makingOffer = false;
    }
  }

  // A pushed `signal` from this peer: {description?, candidate?}.
  async receive({ description, candidate }) {
    if (this.closed) return;
    try {
      if (description) await this.receiveDescription(description);
      else if (candidate) await this.receiveCandidate(candidate);
    } catch (error) {
      if (!this.closed) console.warn("signal from", this.peer, "not applied", error);
    }
  }

  async receiveDescription(description) {
    const decision = decideOnDescription({
      type: description.type, polite: this.polite, makingOffer: this.makingOffer,
      signalingState: this.pc.signalingState,
      isSettingRemoteAnswerPending: this.isSettingRemoteAnswerPending,
    });
    this.note(`receive ${description.type} in ${this.pc.signalingState}: ${JSON.stringify(decision)}`);
    this.ignoreOffer = decision.ignore && description.type === "offer";
    if (decision.ignore) return;
    if (decision.rollback) await this.pc.setLocalDescription({ type: "rollback" });
    this.isSettingRemoteAnswerPending = decision.answerPending;
    try {
      await this.pc.setRemoteDescription(description);
    } finally {
      this.isSettingRemoteAnswerPending = false;
    }
    await this.flushCandidates();
    if (decision.reply) {
      this.addLocalTracks(); // the polite side's first answer carries its media
      await this.pc.setLocalDescription();
      this.note(`send ${this.pc.localDescription.type}`);
      this.send({ description: this.pc.localDescription.toJSON() });
    }
  }

  async receiveCandidate(candidate) {
    if (mustQueueCandidate(this.pc.remoteDescription)) {
      this.note(`queue candidate ${candidate.usernameFragment}`);
      if (this.queuedCandidates.length < MAX_QUEUED_CANDIDATES) this.queuedCandidates.push(candidate);
      return;
    }
    await this.addCandidate(candidate);
  }

  async addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate);
      this.note(`added candidate ${candidate.usernameFragment}`);
    } catch (error) {
      this.note(`candidate ${candidate.usernameFragment} failed: ${error}`);
      // a candidate for an offer we ignored is expected to fail
      if (!this.ignoreOffer) throw error;
    }
  }

  // Each on its own: one stale candidate (of an offer rolled back) must not drop the rest.
  async flushCandidates() {
    const queued = this.queuedCandidates;
    this.queuedCandidates = [];
    for (const candidate of queued) {
      try {
        await this.pc.addIceCandidate(candidate);
        this.note(`added queued candidate ${candidate.usernameFragment}`);
      } catch (error) {
        this.note(`queued candidate ${candidate.usernameFragment} failed: ${error}`);
        if (!this.closed) console.debug("stale candidate from", this.peer, error);
      }
    }
  }

  note(step) {
    this.trace.push(step);
    if (this.trace.length > 100) this.trace.shift();
  }

  // A new camera or microphone: swap it on the sender of its kind, no renegotiation.
  async replaceTrack(kind, track) {
    for (const sender of this.pc.getSenders()) {
      if (sender.track ? sender.track.kind === kind : false) await sender.replaceTrack(track);
    }
  }

  setIceServers(iceServers) {
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch (error) {
      console.warn("could not refresh the ICE servers", error);
    }
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.firstOfferTimer);
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.oniceconnectionstatechange = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}
