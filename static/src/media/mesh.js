// The breakout mesh: one PeerLink per person I may connect to now, opened and closed as
// the signaling server says who is there (`media.join` answer, pushed `media` messages),
// with the remote signals routed to their link. When another tab of mine joins, the server
// drops my peer and says `replaced`: the links close and `onReplaced` tells the page.

import {
  applyMediaMessage, diffPeers, endsMyJoin, iceRefreshDelayMs, isPolite, peersFromJoin,
} from "./negotiation.js";
import { PeerLink } from "./peer-link.js";

const ACK_TIMEOUT_MS = 10000;
const HELD_PER_PEER = 100;
const HELD_PEERS = 16;

// The signaling messages over the room's socket.io socket, each its own event with an ack
// (as the shared notes do): media.join, media.leave, media.ice, signal; pushed: media, signal.
export class SocketTransport {
  constructor(socket, gathering) {
    this.socket = socket;
    this.gathering = gathering;
  }

  async request(event, fields = {}) {
    if (!this.socket.connected) return { ok: false, error: { code: "disconnected" } };
    try {
      return await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, { ...fields, gathering: this.gathering });
    } catch {
      return { ok: false, error: { code: "timeout" } };
    }
  }

  join(fields = {}) { return this.request("media.join", fields); }
  leave() { return this.request("media.leave"); }
  ice() { return this.request("media.ice"); }
  signal(fields) { return this.request("signal", fields); }

  on(name, handler) {
    const filtered = (message) => {
      if (message && message.gathering === this.gathering) handler(message);
    };
    this.socket.on(name, filtered);
    return () => this.socket.off(name, filtered);
  }
}

export class Mesh {
  constructor({ transport, localMedia, onPeers = () => {}, onRemoteStream = () => {},
    onRemoteGone = () => {}, onLinkState = () => {}, onReplaced = () => {},
    PeerLinkClass = PeerLink }) {
    this.transport = transport;
    this.localMedia = localMedia;
    this.onPeers = onPeers;
    this.onRemoteStream = onRemoteStream;
    this.onRemoteGone = onRemoteGone;
    this.onLinkState = onLinkState;
    this.onReplaced = onReplaced;
    this.PeerLinkClass = PeerLinkClass;
    this.me = null;
    this.presence = null; // my last join's id, which a `replaced` names
    this.iceServers = [];
    this.allowed = new Map(); // peer -> {peer, person_id, name}
    this.linksByPeer = new Map(); // peer -> PeerLink
    this.joining = false;
    this.heldMedia = [];
    this.heldSignals = new Map(); // peer -> [signal]: from peers not (yet) known
    this.iceTimer = null;
    this.off = [
      transport.on("media", (m) => this.onMedia(m)),
      transport.on("signal", (m) => this.onSignal(m)),
    ];
  }

  get joined() {
    return this.me !== null;
  }

  // Join (or join again, after a move or a reconnect): the answer says who I may
  // connect to; links to anyone else close. A runner visiting a group passes {group}.
  async join(fields = {}) {
    this.joining = true;
    const answer = await this.transport.join(fields);
    this.joining = false;
    const held = this.heldMedia;
    this.heldMedia = [];
    if (!answer || !answer.ok) return answer || { ok: false, error: { code: "no_answer" } };
    if (held.some((message) => endsMyJoin(message, answer.peer, answer.presence))) {
      this.handOver(); // another tab took my place before this answer came
      return answer;
    }
    if (this.me !== null && this.me !== answer.peer) this.closeLinks(); // a new socket: start over
    this.me = answer.peer;
    this.presence = answer.presence ?? null;
    this.iceServers = Array.isArray(answer.ice_servers) ? answer.ice_servers : [];
    for (const link of this.linksByPeer.values()) link.setIceServers(this.iceServers);
    this.allowed = peersFromJoin(answer);
    for (const message of held) this.allowed = applyMediaMessage(this.allowed, message, this.me);
    this.sync();
    this.scheduleIceRefresh(answer.ice_ttl);
    return answer;
  }

  async leave() {
    const wasJoined = this.joined;
    this.reset();
    if (wasJoined) await this.transport.leave();
  }

  // Another tab of mine took my place: the server has dropped my peer, nothing to leave.
  handOver() {
    this.reset();
    this.onReplaced();
  }

  reset() {
    this.me = null;
    this.presence = null;
    this.allowed = new Map();
    this.heldSignals.clear();
    this.heldMedia = [];
    clearTimeout(this.iceTimer);
    this.closeLinks();
    this.onPeers(this.allowed);
  }

  destroy() {
    for (const off of this.off) off();
    return this.leave();
  }

  // Drop the peers whose person `keep(person_id)` refuses now, e.g. moved out of my group.
  restrictTo(keep) {
    if (!this.joined) return;
    const kept = new Map([...this.allowed].filter(([, who]) => keep(who.person_id)));
    if (kept.size === this.allowed.size) return;
    this.allowed = kept;
    this.sync();
  }

  links() {
    return [...this.linksByPeer.values()].map((link) => link.pc);
  }

  traces() {
    return Object.fromEntries([...this.linksByPeer].map(([peer, link]) => [peer, link.trace]));
  }

  sync() {
    const { add, remove } = diffPeers(this.linksByPeer.keys(), this.allowed.keys());
    for (const peer of remove) this.closeLink(peer);
    for (const peer of add) this.openLink(peer);
    for (const peer of [...this.heldSignals.keys()]) {
      if (!this.allowed.has(peer)) continue;
      const held = this.heldSignals.get(peer);
      this.heldSignals.delete(peer);
      for (const signal of held) this.linksByPeer.get(peer)?.receive(signal);
    }
    this.onPeers(this.allowed);
  }

  openLink(peer) {
    const link = new this.PeerLinkClass({
      peer,
      polite: isPolite(this.me, peer),
      iceServers: this.iceServers,
      stream: this.localMedia ? this.localMedia.stream : null,
      send: (fields) => this.transport.signal({ to: peer, ...fields }).then((answer) => {
        if (answer && !answer.ok) console.warn("signal to", peer, "refused:", answer.error && answer.error.code);
      }),
      onTrack: (stream) => this.onRemoteStream(peer, stream, this.allowed.get(peer)),
      onStateChange: (state) => this.onLinkState(peer, state),
    });
    this.linksByPeer.set(peer, link);
  }

  closeLink(peer) {
    const link = this.linksByPeer.get(peer);
    if (!link) return;
    this.linksByPeer.delete(peer);
    link.close();
    this.onRemoteGone(peer);
  }

  closeLinks() {
    for (const peer of [...this.linksByPeer.keys()]) this.closeLink(peer);
  }

  onMedia(message) {
    if (this.joining) {
      this.heldMedia.push(message);
      return;
    }
    if (!this.joined) return;
    if (endsMyJoin(message, this.me, this.presence)) {
      this.handOver();
      return;
    }
    this.allowed = applyMediaMessage(this.allowed, message, this.me);
    this.sync();
  }

  onSignal(message) {
    const from = message.from;
    const signal = { description: message.description, candidate: message.candidate };
    const link = this.linksByPeer.get(from);
    if (link) {
      link.receive(signal);
      return;
    }
    // an offer can overtake the peer_joined that announces its sender: hold it a while
    if (!this.heldSignals.has(from)) {
      if (this.heldSignals.size >= HELD_PEERS) return;
      this.heldSignals.set(from, []);
    }
    const held = this.heldSignals.get(from);
    if (held.length < HELD_PER_PEER) held.push(signal);
  }

  // Fresh ICE servers (TURN credentials expire) for the links and the ones to come.
  scheduleIceRefresh(ttl) {
    clearTimeout(this.iceTimer);
    const delay = iceRefreshDelayMs(ttl);
    if (delay === null) return;
    this.iceTimer = setTimeout(async () => {
      if (!this.joined) return;
      const answer = await this.transport.ice();
      if (!answer || !answer.ok || !this.joined) {
        this.scheduleIceRefresh(30);
        return;
      }
      this.iceServers = Array.isArray(answer.ice_servers) ? answer.ice_servers : [];
      for (const link of this.linksByPeer.values()) link.setIceServers(this.iceServers);
      this.scheduleIceRefresh(answer.ice_ttl ?? ttl);
    }, delay);
  }

  // A new camera or microphone on every link.
  async replaceTrack(kind, track) {
    await Promise.all([...this.linksByPeer.values()].map((link) => link.replaceTrack(kind, track)));
  }
}
