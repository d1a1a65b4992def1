// Is a stage connection still alive? The server's aiortc peer can go away under a browser:
// its worker crashed or restarted, it dropped the gathering's stage, or ICE failed. Measured
// in Chromium: when the server closes its peer the DTLS transport goes to "closed" at once
// (a close_notify) while the connection stays "connected"; when the peer vanishes silently (a
// crash) ICE goes "disconnected" after about 6 s and the connection "failed" after about 16 s.
// So: failed, or a transport that was connected and closed, is a loss at once; disconnected is
// one after DISCONNECTED_GRACE_MS; a connection this page closed itself (signalingState
// "closed") is never one. (A transport that never connected closes when the answer bundles
// every m-line onto the first one's transport: not a loss.) No DOM here; the watcher takes the
// connection (an EventTarget) and the timer functions, so node tests drive it.

export const DISCONNECTED_GRACE_MS = 3000;

// What a connection's states say: "ours" (this page closed it), "lost" (the server's peer is
// gone: listen or publish again), "unsure" (disconnected: it may come back by itself), "ok".
// `dtlsStates`: the states now of the DTLS transports that were connected.
export function linkHealth({ signalingState, connectionState, iceConnectionState, dtlsStates = [] } = {}) {
  if (signalingState === "closed") return "ours";
  if (connectionState === "failed" || connectionState === "closed") return "lost";
  if (iceConnectionState === "failed" || iceConnectionState === "closed") return "lost";
  if (dtlsStates.some((state) => state === "closed" || state === "failed")) return "lost";
  if (connectionState === "disconnected" || iceConnectionState === "disconnected") return "unsure";
  return "ok";
}

// Disconnected now, neither lost nor back yet: a recovery is not over while a link is shaky.
export function isShaky(pc) {
  return Boolean(pc) && linkHealth({
    signalingState: pc.signalingState, connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState,
  }) === "unsure";
}

// The DTLS transports of a connection (there once a description is set; one when bundled).
function transportsOf(pc) {
  const ends = [...(pc.getSenders ? pc.getSenders() : []), ...(pc.getReceivers ? pc.getReceivers() : [])];
  return [...new Set(ends.map((end) => end.transport).filter(Boolean))];
}

function statesOf(pc, connected) {
  return {
    signalingState: pc.signalingState,
    connectionState: pc.connectionState,
    iceConnectionState: pc.iceConnectionState,
    dtlsStates: [...connected].map((transport) => transport.state),
  };
}

// Calls `onLost()` once, when `pc` is lost or stays unsure for `graceMs`. It looks on every
// connection, ICE and DTLS state change (the DTLS transports are found once they exist);
// `look()` looks now, `stop()` ends the watch.
export function watchLink(pc, onLost, { graceMs = DISCONNECTED_GRACE_MS, timers = globalThis } = {}) {
  let timer = null;
  let done = false;
  const watched = new Set();
  const connected = new Set(); // DTLS transports seen connected

  const stop = () => {
    done = true;
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
  };
  const lose = () => {
    stop();
    onLost();
  };
  const expire = () => {
    timer = null;
    const health = linkHealth(statesOf(pc, connected));
    if (health === "lost" || health === "unsure") lose();
    else if (health === "ours") stop();
  };
  const look = () => {
    if (done) return;
    for (const transport of transportsOf(pc)) {
      if (watched.has(transport)) continue;
      watched.add(transport);
      transport.addEventListener("statechange", look);
    }
    for (const transport of watched) if (transport.state === "connected") connected.add(transport);
    const health = linkHealth(statesOf(pc, connected));
    if (health === "ours") stop();
    else if (health === "lost") lose();
    else if (health === "unsure" && timer === null) timer = timers.setTimeout(expire, graceMs);
    else if (health === "ok" && timer !== null) {
      timers.clearTimeout(timer);
      timer = null;
    }
  };
  pc.addEventListener("connectionstatechange", look);
  pc.addEventListener("iceconnectionstatechange", look);
  return { look, stop };
}
