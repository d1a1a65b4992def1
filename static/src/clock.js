// Time as the server sees it. Every browser computes the countdown from the server's
// deadline and its estimate of the server clock, so all show the same remaining time
// whatever their own clocks say. All values are in seconds (epoch), like the protocol.

// Offset to add to the local clock to get the server's, from one round trip:
// the server read its clock somewhere between sending and receiving, so take the middle.
export function clockOffset(serverNow, sentAtMs, receivedAtMs) {
  return serverNow - (sentAtMs + receivedAtMs) / 2000;
}

export function serverTime(offset, nowMs = Date.now()) {
  return nowMs / 1000 + offset;
}

// {overrun, seconds} for the current item: seconds left (rounded up, so a fresh
// 10-minute item shows 10:00), or seconds past the deadline (rounded down).
// While paused (`paused_at` set) the clock stands still at the moment of the pause.
// Never more left than the item's length: the offset is an estimate (a slow answer skews it
// by up to half its round trip), and a fresh 20-minute item must not show 20:01.
export function countdown(current, serverNow) {
  const at = current.paused_at != null ? current.paused_at : serverNow;
  const length = (current.planned_seconds ?? Infinity) + (current.extended_seconds ?? 0);
  const left = Math.min(current.deadline - at, length);
  if (left > 0) return { overrun: false, seconds: Math.ceil(left) };
  return { overrun: true, seconds: Math.floor(at - current.deadline) };
}

// mm:ss; minutes are not wrapped into hours (a 90-minute item shows 90:00).
export function formatClock(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  const minutes = Math.floor(whole / 60);
  const rest = whole % 60;
  return `${String(minutes).padStart(2, "0")}:${String(rest).padStart(2, "0")}`;
}
