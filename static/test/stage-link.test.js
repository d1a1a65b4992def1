import assert from "node:assert/strict";
import { test } from "node:test";

import { DISCONNECTED_GRACE_MS, isShaky, linkHealth, watchLink } from "../src/media/stage-link.js";

const states = (over = {}) => ({
  signalingState: "stable", connectionState: "connected", iceConnectionState: "connected", dtlsStates: ["connected"],
  ...over,
});

test("a stage connection is lost when it fails or the server closes its transport", () => {
  assert.equal(linkHealth(states()), "ok");
  assert.equal(linkHealth(states({ connectionState: "failed" })), "lost");
  assert.equal(linkHealth(states({ iceConnectionState: "failed" })), "lost");
  assert.equal(linkHealth(states({ connectionState: "closed" })), "lost", "closed, not by this page");
  assert.equal(linkHealth(states({ dtlsStates: ["closed"] })), "lost", "the server closed its peer");
  assert.equal(linkHealth(states({ dtlsStates: ["failed"] })), "lost");
  assert.equal(linkHealth(states({ connectionState: "disconnected", iceConnectionState: "disconnected" })),
    "unsure", "disconnected may come back by itself");
  assert.equal(linkHealth(states({ connectionState: "connecting", iceConnectionState: "checking", dtlsStates: [] })),
    "ok", "still connecting");
  assert.equal(linkHealth(states({ signalingState: "closed", connectionState: "closed" })), "ours",
    "closed by this page: never a loss");
  assert.equal(linkHealth(), "ok");
});

class FakeTransport extends EventTarget {
  constructor() {
    super();
    this.state = "new";
  }

  set(state) {
    this.state = state;
    this.dispatchEvent(new Event("statechange"));
  }
}

class FakePc extends EventTarget {
  constructor() {
    super();
    this.signalingState = "have-local-offer";
    this.connectionState = "new";
    this.iceConnectionState = "new";
    this.transport = null;
  }

  getReceivers() { return this.transport ? [{ transport: this.transport }, { transport: this.transport }] : []; }

  getSenders() { return []; }

  set(connectionState, iceConnectionState = connectionState) {
    this.connectionState = connectionState;
    this.iceConnectionState = iceConnectionState;
    this.dispatchEvent(new Event("iceconnectionstatechange"));
    this.dispatchEvent(new Event("connectionstatechange"));
  }

  close() {
    this.signalingState = "closed";
    this.connectionState = "closed";
  }
}

class FakeTimers {
  constructor() {
    this.now = 0;
    this.due = new Map();
    this.next = 1;
  }

  setTimeout(fn, ms) {
    const id = this.next++;
    this.due.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(id) { this.due.delete(id); }

  advance(ms) {
    this.now += ms;
    for (const [id, { at, fn }] of [...this.due]) {
      if (at <= this.now) {
        this.due.delete(id);
        fn();
      }
    }
  }
}

function watched() {
  const pc = new FakePc();
  const timers = new FakeTimers();
  const lost = [];
  const watch = watchLink(pc, () => lost.push(pc.connectionState), { timers });
  return { pc, timers, lost, watch };
}

function connected() {
  const setup = watched();
  setup.pc.signalingState = "stable";
  setup.pc.transport = new FakeTransport();
  setup.watch.look(); // after setRemoteDescription
  setup.pc.transport.set("connected");
  setup.pc.set("connected");
  return setup;
}

test("the server closing its peer is a loss at once, reported once", () => {
  const { pc, lost } = connected();
  assert.deepEqual(lost, []);
  pc.transport.set("closed");
  assert.equal(lost.length, 1);
  pc.set("failed");
  assert.equal(lost.length, 1, "once");
});

test("a transport that closes before it ever connected is not a loss", () => {
  // the answer bundles every m-line onto the first one's transport: the others close
  const { pc, lost, watch } = watched();
  const spare = new FakeTransport();
  pc.transport = spare;
  watch.look();
  pc.transport = new FakeTransport();
  spare.set("closed");
  assert.deepEqual(lost, []);
  pc.transport.set("connected");
  pc.set("connected");
  assert.deepEqual(lost, []);
});

test("a failed connection is a loss", () => {
  const { pc, lost } = connected();
  pc.set("failed");
  assert.deepEqual(lost, ["failed"]);
});

test("disconnected is a loss only when it lasts the grace period", () => {
  const { pc, timers, lost } = connected();
  pc.set("disconnected");
  timers.advance(DISCONNECTED_GRACE_MS - 1);
  assert.deepEqual(lost, []);
  pc.set("connected"); // came back by itself
  timers.advance(DISCONNECTED_GRACE_MS);
  assert.deepEqual(lost, []);
  pc.set("disconnected");
  timers.advance(DISCONNECTED_GRACE_MS);
  assert.deepEqual(lost, ["disconnected"]);
});

test("a connection this page closed is never a loss", () => {
  const { pc, timers, lost } = connected();
  pc.set("disconnected");
  pc.close();
  timers.advance(DISCONNECTED_GRACE_MS * 2);
  pc.transport.set("closed");
  pc.dispatchEvent(new Event("connectionstatechange"));
  assert.deepEqual(lost, []);
});

test("a stopped watch reports nothing", () => {
  const { pc, timers, lost, watch } = connected();
  pc.set("disconnected");
  watch.stop();
  timers.advance(DISCONNECTED_GRACE_MS);
  pc.set("failed");
  assert.deepEqual(lost, []);
  assert.equal(timers.due.size, 0);
});

test("a connection that fails before it ever connects is a loss too", () => {
  const { pc, lost } = watched();
  pc.set("connecting", "checking");
  assert.deepEqual(lost, []);
  pc.set("failed");
  assert.deepEqual(lost, ["failed"]);
});

test("shaky: disconnected, neither lost nor back", () => {
  const pc = new FakePc();
  assert.equal(isShaky(null), false);
  assert.equal(isShaky(pc), false, "new");
  pc.set("disconnected");
  assert.equal(isShaky(pc), true);
  pc.set("failed");
  assert.equal(isShaky(pc), false, "lost: the watch reports it");
  pc.set("connected");
  assert.equal(isShaky(pc), false);
});
