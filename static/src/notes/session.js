// One shared note over the forum's socket: y-protocols sync and awareness carried by the
// socket.io events `note.subscribe`, `note` and `note.unsubscribe` (docs/protocol.md,
// "Shared notes"). No DOM here: the browser's editor (notes.js) and the Node test client
// (tests/notes_node/client.mjs) both use this.
//
// Local changes are kept in `pending` until the server acknowledges them (it does so only
// once they are stored), one message in flight at a time, so changes made offline or
// refused for a moment (rate_limited) are sent again after a reconnect. Re-sending what the
// server already has changes nothing: Yjs updates are idempotent.

import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import * as syncProtocol from "y-protocols/sync";
import * as awarenessProtocol from "y-protocols/awareness";

export const TEXT = "text"; // the shared Y.Text every note has, on the server too
export const MESSAGE_MAX = 32 * 1024; // the server refuses larger messages (too_large)
export const CHUNK_MAX = 16 * 1024; // pending updates merged into one message, at most
const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_QUERY_AWARENESS = 3;
const SEND_INTERVAL_MS = 80;
const AWARENESS_INTERVAL_MS = 250;
const RETRY_MS = 1500;
const ACK_TIMEOUT_MS = 15000;
const FROM_SERVER = "server"; // the origin of changes that came from the server

function bytes(data) {
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

function syncMessage(write) {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

// The first pending updates, merged, up to CHUNK_MAX bytes (always at least one).
export function takeChunk(pending) {
  let size = 0;
  let count = 0;
  while (count < pending.length && (count === 0 || size + pending[count].length <= CHUNK_MAX)) {
    size += pending[count].length;
    count += 1;
  }
  const chunk = count === 1 ? pending[0] : Y.mergeUpdates(pending.slice(0, count));
  return { chunk, count };
}

export class NoteSession {
  // socket: a socket.io-client Socket (connected or not; reconnects are followed).
  // user: {name, color, colorLight} for the awareness (the server puts in the real name).
  // onStatus(status): called when {state, mayWrite, pending, error} changes.
  constructor(socket, { gathering, note, user, onStatus = () => {}, onReset = () => {} }) {
    this.socket = socket;
    this.gathering = gathering;
    this.note = note;
    this.user = user;
    this.onStatus = onStatus;
    this.onReset = onReset;
    this.pending = [];
    this.generation = 0; // +1 per connection: answers to older ones are ignored
    this.synced = false;
    this.inFlight = false;
    this.mayWrite = false;
    this.error = null;
    this.destroyed = false;
    this.timers = new Set();
    this.newDocument();
    this.handlers = {
      connect: () => this.onConnect(),
      disconnect: () => this.onDisconnect(),
      note: (data) => this.onPushed(data),
    };
  }

  newDocument() {
    this.doc = new Y.Doc();
    this.text = this.doc.getText(TEXT);
    this.awareness = new awarenessProtocol.Awareness(this.doc);
    this.awareness.setLocalState({ user: this.user });
    this.doc.on("update", (update, origin) => {
      if (origin === FROM_SERVER) return;
      this.pending.push(update);
      this.later("flush", SEND_INTERVAL_MS, () => this.flush());
      this.status();
    });
    this.awareness.on("update", ({ added, updated, removed }, origin) => {
      const mine = [...added, ...updated, ...removed].includes(this.doc.clientID);
      if (origin === "local" && mine) {
        this.later("awareness", AWARENESS_INTERVAL_MS, () => this.sendAwareness());
      }
    });
  }

  start() {
    for (const [name, handler] of Object.entries(this.handlers)) this.socket.on(name, handler);
    if (this.socket.connected) this.onConnect();
    this.status();
    return this;
  }

  get state() {
    if (this.error) return "error";
    if (!this.socket.connected) return this.pending.length ? "offline_pending" : "offline";
    if (!this.synced) return "connecting";
    return this.pending.length || this.inFlight ? "saving" : "saved";
  }

  status() {
    this.onStatus({ state: this.state, mayWrite: this.mayWrite, pending: this.pending.length,
                    error: this.error });
  }

  later(name, delay, run) {
    if (this.destroyed || this.timers.has(name)) return;
    this.timers.add(name);
    setTimeout(() => {
      this.timers.delete(name);
      if (!this.destroyed) run();
    }, delay);
  }

  async request(event, fields) {
    const generation = this.generation;
    let answer;
    try {
      answer = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, {
        gathering: this.gathering, note: this.note, ...fields });
    } catch {
      answer = { ok: false, error: { code: "timeout", message: "no answer in time" } };
    }
    if (generation !== this.generation) {
      // the connection this was sent on is gone: what it was about is sent again
      return { ok: false, error: { code: "stale", message: "answer from an old connection" } };
    }
    return answer || { ok: false, error: { code: "internal", message: "empty answer" } };
  }

  // Subscribe (again) and sync: on every connect, and when the room asks whether we may
  // still write. Offline, the next connect does it: a subscribe sent now would wait in
  // socket.io's buffer and go out besides the connect's own, on a session that may be gone.
  async onConnect() {
    if (!this.socket.connected || this.destroyed) return;
    this.generation += 1;
    const generation = this.generation;
    this.synced = false;
    this.inFlight = false;
    const joined = await this.request("note.subscribe", {});
    if (generation !== this.generation || this.destroyed) return;
    if (!joined.ok) return this.failed(joined.error, () => this.onConnect());
    this.mayWrite = joined.may_write === true;
    const answer = await this.request("note", {
      message: syncMessage((encoder) => syncProtocol.writeSyncStep1(encoder, this.doc)) });
    if (generation !== this.generation || this.destroyed) return;
    if (!answer.ok) return this.failed(answer.error, () => this.onConnect());
    this.receive(bytes(answer.message));
    this.synced = true;
    this.error = null;
    this.status();
    // our clock must pass the removal the server sent for our previous connection
    this.awareness.setLocalState({ ...this.awareness.getLocalState() });
    this.awareness.setLocalState({ ...this.awareness.getLocalState() });
    this.flush();
  }

  onDisconnect() {
    this.generation += 1;
    this.synced = false;
    this.inFlight = false;
    this.status();
  }

  failed(error, retry) {
    const code = error && error.code;
    if (["forbidden", "not_found", "unauthenticated"].includes(code)) {
      this.error = code;
      this.status();
      return;
    }
    this.later("retry", RETRY_MS, () => this.socket.connected && retry());
  }

  onPushed(data) {
    if (!data || data.gathering !== this.gathering || data.note !== this.note) return;
    const message = bytes(data.message);
    if (message[0] === MESSAGE_QUERY_AWARENESS) {
      // someone subscribed: answer once for all who did within a moment, not once each
      this.later("awareness", AWARENESS_INTERVAL_MS + Math.random() * 500,
                 () => this.sendAwareness());
    } else {
      this.receive(message);
    }
  }

  receive(message) {
    const decoder = decoding.createDecoder(message);
    const type = decoding.readVarUint(decoder);
    if (type === MESSAGE_SYNC) {
      syncProtocol.readSyncMessage(decoder, encoding.createEncoder(), this.doc, FROM_SERVER);
    } else if (type === MESSAGE_AWARENESS) {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder),
                                             FROM_SERVER);
    }
  }

  async flush() {
    if (this.inFlight || !this.synced || !this.pending.length || this.destroyed) return;
    const { chunk, count } = takeChunk(this.pending);
    this.inFlight = true;
    this.status();
    const answer = await this.request("note", {
      message: syncMessage((encoder) => syncProtocol.writeUpdate(encoder, chunk)) });
    const code = answer.ok ? null : answer.error && answer.error.code;
    if (code === "stale") return; // onConnect sends it again
    this.inFlight = false;
    if (answer.ok) {
      this.pending.splice(0, count);
    } else if (code === "rejected") {
      return this.onConnect(); // the server lost our subscription: subscribe again
    } else if (["forbidden", "invalid_format", "too_large"].includes(code)) {
      return this.refused(code);
    } else {
      this.later("flush", RETRY_MS, () => this.flush()); // rate_limited, internal, timeout
    }
    this.status();
    if (this.pending.length) this.later("flush", SEND_INTERVAL_MS, () => this.flush());
  }

  // The server will not take our changes: start again from its copy of the note.
  refused(code) {
    this.mayWrite = code === "forbidden" ? false : this.mayWrite;
    this.awareness.destroy();
    this.doc.destroy();
    this.pending = [];
    this.newDocument();
    this.onReset(code);
    this.generation += 1;
    if (this.socket.connected) this.onConnect();
  }

  sendAwareness() {
    if (!this.synced || this.destroyed) return;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(
      this.awareness, [this.doc.clientID]));
    this.socket.emit("note", { gathering: this.gathering, note: this.note,
                               message: encoding.toUint8Array(encoder) }, () => {});
  }

  get idle() {
    return this.synced && !this.inFlight && this.pending.length === 0;
  }

  destroy() {
    if (this.destroyed) return;
    if (this.socket.connected) {
      awarenessProtocol.removeAwarenessStates(this.awareness, [this.doc.clientID], "local");
      this.sendAwareness();
      this.socket.emit("note.unsubscribe", { gathering: this.gathering, note: this.note },
                       () => {});
    }
    this.destroyed = true;
    for (const [name, handler] of Object.entries(this.handlers)) this.socket.off(name, handler);
    this.awareness.destroy();
    this.doc.destroy();
  }
}
