// Test doubles for the protocol client and the socket.io socket.

export class FakeSocket {
  constructor() {
    this.connected = false;
    this.active = true;
    this.handlers = new Map();
    this.emitted = []; // [message, ack]
  }

  on(name, handler) { this.handlers.set(name, handler); }

  off(name, handler) { if (this.handlers.get(name) === handler) this.handlers.delete(name); }

  emit(name, message, ack) { this.emitted.push({ name, message, ack }); }

  timeout() { return this; }

  emitWithAck(name, message) {
    return new Promise((ack) => this.emitted.push({ name, message, ack }));
  }

  connect() { this.connected = true; this.handlers.get("connect")?.(); }

  drop(reason = "transport close") {
    this.connected = false;
    this.handlers.get("disconnect")?.(reason);
  }

  serverSends(name, payload) { this.handlers.get(name)?.(payload); }
}

export class FakeClient {
  constructor() {
    this.listeners = new Map();
    this.sent = []; // {type, fields, resolve}
  }

  on(name, listener) { this.listeners.set(name, listener); }

  send(type, fields = {}) {
    return new Promise((resolve) => this.sent.push({ type, fields, resolve }));
  }

  fire(name, payload) { this.listeners.get(name)(payload); }
}

export const tick = () => new Promise((resolve) => setImmediate(resolve));
