// The socket protocol client: commands with unique ids, acks as promises, and resend of
// unacknowledged commands after a reconnect (the server answers a repeated id with its
// first answer and changes nothing, so resending is always safe).

import { io } from "socket.io-client";

const ID_BYTES = 9;

export function randomId() {
  const bytes = new Uint8Array(ID_BYTES);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const DISCONNECTED = { ok: false, error: { code: "disconnected", message: "disconnected" } };

export class ProtocolClient {
  // `socket` is a socket.io-client Socket; tests may pass a fake with on/emit/connect.
  // The gathering goes with the connection (`auth`): the server then finds who we are in it
  // with the same query as whose session this is.
  constructor(gathering,
    socket = io({ transports: ["websocket"], autoConnect: false, auth: { gathering } })) {
    this.gathering = gathering;
    this.socket = socket;
    this.prefix = randomId();
    this.counter = 0;
    this.pending = new Map(); // id -> {message, resolve, resend}
    this.listeners = new Map();
    socket.on("connect", () => this.fire("connect"));
    socket.on("disconnect", (reason) => this.onDisconnect(reason));
    socket.on("connect_error", (error) => this.fire("connect_error", error, socket.active));
    socket.on("event", (m) => this.forOurGathering(m) && this.fire("event", m));
    socket.on("events", (m) => this.forOurGathering(m) && Array.isArray(m.events)
      && m.events.forEach((event) => this.fire("event", event)));
    socket.on("presence", (m) => this.forOurGathering(m) && this.fire("presence", m));
    socket.on("reaction", (m) => this.forOurGathering(m) && this.fire("reaction", m));
    // the server's bus between its workers went "down" or is "up" again (for every gathering)
    socket.on("bus", (m) => this.fire("bus", m && m.state));
  }

  on(name, listener) {
    if (!this.listeners.has(name)) this.listeners.set(name, []);
    this.listeners.get(name).push(listener);
  }

  fire(name, ...args) {
    for (const listener of this.listeners.get(name) || []) listener(...args);
  }

  forOurGathering(message) {
    return Boolean(message) && message.gathering === this.gathering;
  }

  connect() {
    this.socket.connect();
  }

  get connected() {
    return this.socket.connected;
  }

  nextId() {
    this.counter += 1;
    return `${this.prefix}-${this.counter}`;
  }

  // Send a command; resolves with the ack. `resend: false` is for reads (room.join,
  // room.sync): they resolve with DISCONNECTED when the connection drops instead.
  send(type, fields = {}, { resend = true, id = this.nextId() } = {}) {
    const message = { ...fields, id, type, gathering: this.gathering };
    return new Promise((resolve) => {
      this.pending.set(id, { message, resolve, resend });
      if (this.socket.connected) this.emit(id);
    });
  }

  emit(id) {
    const entry = this.pending.get(id);
    this.socket.emit("command", entry.message, (answer) => {
      if (this.pending.get(id) !== entry) return; // already answered
      this.pending.delete(id);
      entry.resolve(answer);
    });
  }

  // An emoji reaction: not a command (no id, never resent: it is only of the moment).
  react(emoji) {
    if (!this.socket.connected) return Promise.resolve(DISCONNECTED);
    return new Promise((resolve) => {
      this.socket.emit("reaction", { gathering: this.gathering, emoji }, resolve);
    });
  }

  // After a reconnect: send again every command that has no answer yet, same ids.
  resendPending() {
    for (const [id, entry] of this.pending) if (entry.resend) this.emit(id);
  }

  onDisconnect(reason) {
    for (const [id, entry] of this.pending) {
      if (entry.resend) continue;
      this.pending.delete(id);
      entry.resolve(DISCONNECTED);
    }
    // The server closed us on purpose (e.g. a restart): socket.io will not retry by itself.
    if (reason === "io server disconnect") this.socket.connect();
    this.fire("disconnect", reason);
  }
}

// One command at a time from a panel of buttons. Buttons are not disabled while it runs
// (that would drop the keyboard focus); clicks are ignored instead (the answer is null).
// The answer clears the panel's status or shows its error.
export function commandRunner(client, { setStatus = () => {}, showError }) {
  let busy = false;
  return async function run(type, fields = {}) {
    if (busy) return null;
    busy = true;
    let answer;
    try {
      answer = await client.send(type, fields);
    } finally {
      busy = false;
    }
    if (answer.ok) setStatus("");
    else await showError(answer.error);
    return answer;
  };
}
