// The browser's fold and the server's fold agree: the golden gathering.
//
// golden/gathering.json is written by tests/facilitation/golden.py from the server's own
// rules (`facilitation.decide`): the snapshot a page gets on room.join, every event of one
// whole gathering as it goes over the wire, and the viewer's view (`live_view`) after each
// event. Here the page's fold (reducer.js, qa-state.js) starts from that snapshot, applies
// the events, and must hold the server's view after every one of them. Regenerate the file
// with `.venv/bin/python -m tests.facilitation.golden --write` (tests/facilitation/
// test_golden.py fails until it is up to date, and until it holds every event type).
//
// What is compared: the page's whole state against `fromSnapshot` of the server's view.
// That is every key of the snapshot but `server_now` (a clock reading: session.js turns it
// into a clock offset; the state never holds it), and the page's own bookkeeping
// (`presence_seen`, `mine_pending`), which must be back to what a fresh snapshot gives.
// `gathering`, `you` and `presence` come from the snapshot alone (presence has its own
// feed, tested in reducer.test.js) and must simply survive every event. Two things are
// not compared as they are, and why:
// - the order of `questions`: the page keeps them in the order asked and always shows them
//   through `orderedQuestions` (qa.js); the server sends them in its `ordered` order. So the
//   page's questions in the order it shows them must equal the server's list, as it is.
// - what only this person's own commands tell the page. The wire never says who voted or
//   who answered a poll what, nor who asked an anonymous question (those fields are private,
//   on purpose), so the page learns its own `voted` (questions), `mine` (anonymous
//   questions) and `mine` (polls) from the ack of its own command, as qa.js does. Between
//   such a command's events and its ack those fields may lag; they are compared as soon as
//   the ack is in. The script has the viewer do all of them from this page: a vote or an
//   answer from the same person's other tab is not on the wire, so no page could know it.
// Acks and broadcasts may arrive in either order: with several workers the broadcast goes
// through Redis while the ack comes straight back. Both orders are run.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { markAnswer, markMine, markVoted, orderedQuestions } from "../src/qa-state.js";
import { KNOWN_EVENTS, fromSnapshot, reduce } from "../src/reducer.js";

const golden = JSON.parse(readFileSync(new URL("./golden/gathering.json", import.meta.url), "utf8"));
const REGENERATE = ".venv/bin/python -m tests.facilitation.golden --write";

// Snapshot keys the page's state does not hold, and why.
const NOT_KEPT = {
  server_now: "a clock reading: session.js turns it into the clock offset",
};

const you = golden.initial.you.person_id;
assert.equal(you, golden.viewer, "the snapshot is the viewer's");

// What the page does when the ack of its own command comes back (mirrors qa.js; `ack` is
// the answer, {ok, version}). One difference, which qa.js still has to take over: it
// calls `markMine(session.state, text)` without the ack's version, and then an anonymous
// question's `mine` is lost whenever the ack beats the broadcast (the "acks before" run).
const ACKS = {
  "question.upvote": (s, c) => markVoted(s, c.question_id, true),
  "question.unvote": (s, c) => markVoted(s, c.question_id, false),
  "question.ask": (s, c, ack) => (c.anonymous ? markMine(s, c.text, ack.version) : s),
  "poll.answer": (s, c) => markAnswer(s, c.poll_id,
    { choices: c.choices || [], word: c.word ? c.word.toLowerCase() : null }),
};
const withoutKeys = (list, keys) => list.map((item) => Object.fromEntries(
  Object.entries(item).filter(([key]) => !keys.includes(key))));
// Before the ack: the fields that ack will set are left out, on both sides.
const BEFORE_ACK = {
  "question.upvote": (v) => ({ ...v, questions: withoutKeys(v.questions, ["voted"]) }),
  "question.unvote": (v) => ({ ...v, questions: withoutKeys(v.questions, ["voted"]) }),
  "question.ask": (v) => ({ ...v, questions: withoutKeys(v.questions, ["mine"]) }),
  "poll.answer": (v) => ({ ...v, polls: withoutKeys(v.polls, ["mine"]) }),
};

// The page's state as the server's view: questions in the order the page shows them.
const asShown = (state) => ({ ...state, questions: orderedQuestions(state.questions) });

function compare(actual, expected, where) {
  const keys = [...new Set([...Object.keys(actual), ...Object.keys(expected)])].sort();
  for (const key of keys) {
    try {
      assert.deepEqual(actual[key], expected[key]);
    } catch (error) {
      error.message = `${where}: the page's \`${key}\` differs from the server's\n${error.message}`;
      throw error;
    }
  }
}

function fold({ acksFirst }) {
  let state = fromSnapshot(golden.initial);
  let expected = { ...golden.initial };
  golden.steps.forEach((step, n) => {
    const own = step.by === you && ACKS[step.command.type];
    const ack = { ok: true, version: step.events.at(-1).event.version };
    if (own && acksFirst) state = ACKS[step.command.type](state, step.command, ack);
    step.events.forEach(({ event, view }, i) => {
      const where = `step ${n} (${step.command.type} by ${step.by}), event v${event.version} ${event.type}`;
      assert.ok(KNOWN_EVENTS.has(event.type),
        `${where}: reducer.js has no handler for ${event.type}: give it one (a no-op, with a comment `
        + "why, if the page's view does not need it)");
      assert.equal(event.version, state.version + 1, `${where}: the golden file skips a version`);
      state = reduce(state, event);
      expected = { ...expected, ...view };
      const last = i === step.events.length - 1;
      if (own && !acksFirst) {
        if (last) state = ACKS[step.command.type](state, step.command, ack);
        else {
          const mask = BEFORE_ACK[step.command.type];
          compare(mask(asShown(state)), mask(fromSnapshot(expected)), where);
          return;
        }
      }
      compare(asShown(state), fromSnapshot(expected), where);
    });
  });
  return state;
}

test("the golden file is the viewer's, and holds events", () => {
  assert.ok(golden.steps.length > 0, `regenerate golden/gathering.json: ${REGENERATE}`);
  assert.equal(golden.initial.gathering.id, golden.steps[0].events[0].event.gathering);
});

test("the reducer handles every event type the server has, and no other", () => {
  const missing = golden.event_types.filter((type) => !KNOWN_EVENTS.has(type));
  assert.deepEqual(missing, [], "reducer.js has no handler for these server events");
  const unknown = [...KNOWN_EVENTS].filter((type) => !golden.event_types.includes(type)).sort();
  assert.deepEqual(unknown, [], "reducer.js handles events the server does not have (a typo?)");
});

test("the page keeps every key of the snapshot, or says why not", () => {
  const kept = new Set(Object.keys(fromSnapshot(golden.initial)));
  const dropped = Object.keys(golden.initial).filter((key) => !kept.has(key)).sort();
  assert.deepEqual(dropped, Object.keys(NOT_KEPT).sort());
});

test("the page's fold agrees with the server's after every event (acks after the events)", () => {
  const end = fold({ acksFirst: false });
  assert.equal(end.phase, "ended");
});

test("the page's fold agrees with the server's after every event (acks before the events)", () => {
  const end = fold({ acksFirst: true });
  assert.equal(end.phase, "ended");
});

test("an event type the page does not know yet only advances the version at runtime", () => {
  const s0 = fromSnapshot(golden.initial);
  assert.ok(!KNOWN_EVENTS.has("something.new"));
  const s1 = reduce(s0, { gathering: "golden", version: s0.version + 1, type: "something.new", data: {} });
  assert.deepEqual(s1, { ...s0, version: s0.version + 1 });
});
