import assert from "node:assert/strict";
import { test } from "node:test";

import { clockOffset, countdown, formatClock, serverTime } from "../src/clock.js";

test("the offset takes the middle of the round trip", () => {
  // local clock 100 s behind the server; the request took 200 ms
  const offset = clockOffset(1100.1, 1_000_000, 1_000_200);
  assert.ok(Math.abs(offset - 100) < 1e-9);
  assert.ok(Math.abs(serverTime(offset, 1_000_200) - 1100.2) < 1e-9);
});

test("two clocks that disagree show the same countdown", () => {
  const current = { deadline: 1600 };
  const fast = serverTime(clockOffset(1000, 1_300_000, 1_300_000), 1_300_000 + 30_000);
  const slow = serverTime(clockOffset(1000, 700_000, 700_000), 700_000 + 30_000);
  assert.deepEqual(countdown(current, fast), countdown(current, slow));
  assert.deepEqual(countdown(current, fast), { overrun: false, seconds: 570 });
});

test("a fresh item shows its full length; past the deadline it is overrun", () => {
  assert.deepEqual(countdown({ deadline: 1600 }, 1000.001), { overrun: false, seconds: 600 });
  assert.deepEqual(countdown({ deadline: 1600 }, 1600), { overrun: true, seconds: 0 });
  assert.deepEqual(countdown({ deadline: 1600 }, 1725.7), { overrun: true, seconds: 125 });
});

test("mm:ss, minutes not wrapped", () => {
  assert.equal(formatClock(0), "00:00");
  assert.equal(formatClock(59.9), "00:59");
  assert.equal(formatClock(600), "10:00");
  assert.equal(formatClock(90 * 60 + 5), "90:05");
  assert.equal(formatClock(-3), "00:00");
});

test("a paused timer stands still at the moment of the pause", () => {
  const paused = { deadline: 1600, paused_at: 1300 };
  assert.deepEqual(countdown(paused, 1300), { overrun: false, seconds: 300 });
  assert.deepEqual(countdown(paused, 5000), { overrun: false, seconds: 300 });
  assert.deepEqual(countdown({ deadline: 1600, paused_at: 1700 }, 9000), { overrun: true, seconds: 100 });
  assert.deepEqual(countdown({ deadline: 1600, paused_at: null }, 1500), { overrun: false, seconds: 100 });
});

test("a clock estimate that lags never shows more than the item's length", () => {
  // a 20-minute item, extended by 5; the browser thinks it is half a second earlier
  const current = { deadline: 1000 + 1500, planned_seconds: 1200, extended_seconds: 300 };
  assert.deepEqual(countdown(current, 999.5), { overrun: false, seconds: 1500 });
  assert.deepEqual(countdown({ ...current, extended_seconds: 0, deadline: 2200 }, 999.5),
    { overrun: false, seconds: 1200 });
});
