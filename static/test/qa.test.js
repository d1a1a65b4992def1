import assert from "node:assert/strict";
import { test } from "node:test";

import { fromSnapshot, reduce } from "../src/reducer.js";
import {
  REACTIONS, REACTION_GLYPHS, answeringNow, expertSlot, followingQa, itemExpertId, markAnswer,
  markMine, markVoted, mayModerate, openPoll, orderedQuestions, parseOptions, pollBars,
  pollProblem, qaChanges, shownPoll, validConsent,
} from "../src/qa-state.js";
import { consentText, controlText } from "../src/recording.js";

const alice = { person_id: 2, name: "Alice Askvik", municipality: "Askvik kommune" };
const eva = { person_id: 5, name: "Eva Ekspert", municipality: null };

const snapshot = (extra = {}) => ({
  version: 10, phase: "live", gathering: { id: "g1", title: "Samling 1" },
  you: { ...alice, role: "participant" },
  agenda: [
    { id: 11, title: "Velkommen", kind: "welcome", planned_minutes: 10, expert_id: null },
    { id: 12, title: "Innlegg: matsvinn", kind: "expert_talk", planned_minutes: 20, expert_id: 5 },
    { id: 13, title: "Spørsmål til Eva", kind: "qa", planned_minutes: 15, expert_id: 5 },
  ],
  current: null, hands: [], speaker: null, chat: [], presence: [], breakouts: null, server_now: 1000,
  questions: [], anonymous_questions: false, qa_item: null, polls: [], spotlight: null,
  ...extra,
});

const ev = (version, type, data = {}) => ({ gathering: "g1", version, type, data });

function asked(state, version, id, text, author, at = 1000) {
  return reduce(state, ev(version, "question.asked", { question_id: id, text, at, author }));
}

test("an older snapshot without questions, polls or a stage reads as empty", () => {
  const { questions, polls, spotlight, qa_item, anonymous_questions, ...older } = snapshot();
  const s = fromSnapshot(older);
  assert.deepEqual([s.questions, s.polls, s.spotlight, s.qa_item, s.anonymous_questions],
    [[], [], null, null, false]);
});

test("questions: asked, voted, ordered by votes then time, picked, answered, hidden", () => {
  let s = fromSnapshot(snapshot());
  s = asked(s, 11, 1, "Første", alice, 1000);
  s = asked(s, 12, 2, "Andre", null, 1001);
  s = asked(s, 13, 3, "Tredje", eva, 1002);
  assert.equal(s.questions[0].mine, true, "a named question of one's own is mine");
  assert.equal(s.questions[1].mine, false);
  assert.deepEqual(orderedQuestions(s.questions).map((q) => q.question_id), [1, 2, 3]);
  s = reduce(s, ev(14, "question.upvoted", { question_id: 3, votes: 2 }));
  s = reduce(s, ev(15, "question.upvoted", { question_id: 2, votes: 2 }));
  assert.deepEqual(orderedQuestions(s.questions).map((q) => q.question_id), [2, 3, 1]);
  s = reduce(s, ev(16, "question.unvoted", { question_id: 2, votes: 1 }));
  assert.deepEqual(orderedQuestions(s.questions).map((q) => q.question_id), [3, 2, 1]);
  s = reduce(s, ev(17, "question.picked", { question_id: 3, at: 1100 }));
  assert.equal(answeringNow(s).text, "Tredje");
  s = reduce(s, ev(18, "question.answered", { question_id: 3, at: 1200 }));
  assert.equal(answeringNow(s), null);
  assert.deepEqual([s.questions[2].status, s.questions[2].answered_at], ["answered", 1200]);
  s = reduce(s, ev(19, "question.hidden", { question_id: 2 }));
  assert.deepEqual(s.questions.map((q) => q.question_id), [1, 3]);
  assert.equal(s.version, 19);
});

test("what the server does not say, this client remembers: votes, own anonymous questions", () => {
  let s = asked(fromSnapshot(snapshot()), 11, 1, "Hemmelig?", null);
  s = markMine(s, "Hemmelig?");
  assert.equal(s.questions[0].mine, true);
  s = markVoted(asked(s, 12, 2, "Annen", eva), 2, true);
  assert.equal(s.questions[1].voted, true);
  s = reduce(s, ev(13, "question.upvoted", { question_id: 2, votes: 1 }));
  assert.equal(s.questions[1].voted, true, "an event keeps what this client knows");
  assert.equal(markMine(s, "finnes ikke"), s);
});

test("the settings, the Q&A focus and the stage", () => {
  let s = fromSnapshot(snapshot());
  s = reduce(s, ev(11, "questions.settings_changed", { anonymous_allowed: true }));
  assert.equal(s.anonymous_questions, true);
  s = reduce(s, ev(12, "questions.opened", { item_id: 13, at: 1000 }));
  assert.equal(s.qa_item, 13);
  s = reduce(s, ev(13, "stage.spotlight", { ...eva, item_id: 12 }));
  assert.deepEqual(s.spotlight, eva);
  s = reduce(s, ev(14, "questions.closed", { at: 1100 }));
  s = reduce(s, ev(15, "stage.cleared", { at: 1100 }));
  assert.deepEqual([s.qa_item, s.spotlight], [null, null]);
});

test("polls: launched, results as totals, closed; the viewer's answer stays their own", () => {
  let s = fromSnapshot(snapshot());
  s = reduce(s, ev(11, "poll.launched", { poll_id: 1, question: "Hvordan går det?", kind: "single",
    options: ["Godt", "Tungt"], at: 1000, item_id: 11 }));
  assert.equal(openPoll(s).poll_id, 1);
  assert.deepEqual(s.polls[0].counts, [0, 0]);
  s = markAnswer(s, 1, { choices: [0], word: null });
  s = reduce(s, ev(12, "poll.results", { poll_id: 1, respondents: 3, counts: [2, 1], words: [] }));
  assert.deepEqual(s.polls[0].mine, { choices: [0], word: null });
  assert.deepEqual(pollBars(s.polls[0]), [
    { index: 0, label: "Godt", count: 2, percent: 67 }, { index: 1, label: "Tungt", count: 1, percent: 33 }]);
  s = reduce(s, ev(13, "poll.closed", { poll_id: 1, at: 1100 }));
  assert.equal(openPoll(s), null);
  assert.equal(shownPoll(s).poll_id, 1, "a closed poll's results stay on show");
  assert.deepEqual(pollBars({ options: ["a"], counts: [0], respondents: 0 }),
    [{ index: 0, label: "a", count: 0, percent: 0 }]);
});

test("the expert sees their coming slot, and what it follows", () => {
  const s = fromSnapshot({ ...snapshot(), you: { ...eva, role: "expert" } });
  const slot = expertSlot(s, 5);
  assert.deepEqual([slot.item.id, slot.minutes, slot.previous.title], [12, 20, "Velkommen"]);
  const during = { ...s, current: { index: 1 } };
  assert.equal(expertSlot(during, 5).item.id, 13, "then the Q&A that names them");
  assert.equal(expertSlot({ ...s, current: { index: 2 } }, 5), null);
  assert.equal(expertSlot(s, 2), null, "someone named nowhere has no slot");
  assert.equal(expertSlot({ ...s, phase: "ended" }, 5), null);
  const first = { ...s, agenda: [s.agenda[1]] };
  assert.equal(expertSlot(first, 5).previous, null);
});

test("a Q&A that names nobody right after a talk is the talk's expert's", () => {
  const agenda = snapshot().agenda;
  const open = [agenda[0], agenda[1], { ...agenda[2], expert_id: null }];
  assert.deepEqual([0, 1, 2].map((i) => itemExpertId(agenda, i)), [null, 5, 5]);
  assert.deepEqual([0, 1, 2].map((i) => itemExpertId(open, i)), [null, 5, 5]);
  assert.equal(itemExpertId([open[0], open[2]], 1), null, "after a welcome: nobody");
  assert.equal(itemExpertId([agenda[1], { ...agenda[2], expert_id: 8 }], 1), 8);
});

test("a consent may take in the Q&A after the slot, as the server's rule says", () => {
  let s = fromSnapshot({ ...snapshot(), you: { ...eva, role: "expert" } });
  s = reduce(s, ev(11, "agenda.item_started", { index: 1, item_id: 12, started_at: 1000, planned_seconds: 1200 }));
  s = reduce(s, ev(12, "stage.spotlight", { ...eva, item_id: 12 }));
  assert.equal(followingQa(s, 5).id, 13);
  assert.equal(followingQa(s, 2), null, "not a Q&A that keeps Alice on stage");
  assert.equal(consentText(s, 5), "You have not agreed to be recorded.");
  s = reduce(s, ev(13, "recording.consent_given",
    { person_id: 5, name: "Eva Ekspert", item_id: 12, at: 1010, qa_item_id: 13 }));
  assert.equal(s.consent.qa_item_id, 13);
  assert.equal(consentText(s, 5), "You agreed to be recorded in this slot and in “Spørsmål til Eva” after it.");
  assert.equal(controlText(s), "Eva Ekspert agreed to be recorded, also in “Spørsmål til Eva” after this slot.");
  s = reduce(s, ev(14, "agenda.item_started", { index: 2, item_id: 13, started_at: 2200, planned_seconds: 900 }));
  assert.equal(validConsent(s).item_id, 12, "still valid in her Q&A");
  assert.equal(followingQa(s, 5), null, "nothing after the Q&A");
  assert.equal(consentText(s, 5), "You agreed to be recorded in this slot.");
  const talkOnly = { ...s, consent: { ...s.consent, qa_item_id: null } };
  assert.equal(validConsent(talkOnly), null, "without the Q&A she is asked again");
});

test("who moderates questions: runners, and the expert only while on stage", () => {
  const s = fromSnapshot(snapshot());
  assert.equal(mayModerate(s), false);
  assert.equal(mayModerate({ ...s, you: { ...alice, role: "facilitator" } }), true);
  const expert = { ...s, you: { ...eva, role: "expert" } };
  assert.equal(mayModerate(expert), false);
  assert.equal(mayModerate({ ...expert, spotlight: eva }), true);
  assert.equal(mayModerate({ ...s, spotlight: alice }), false, "a participant on stage is not");
});

test("the poll form's checks match the server's", () => {
  assert.deepEqual(parseOptions(" Ja \n\n Nei\n  "), ["Ja", "Nei"]);
  assert.equal(pollProblem("Hei?", "word", []), null);
  assert.equal(pollProblem("  ", "word", []), "question");
  assert.equal(pollProblem("x".repeat(301), "single", ["a", "b"]), "question");
  assert.equal(pollProblem("Hei?", "single", ["a"]), "count");
  assert.equal(pollProblem("Hei?", "multiple", "abcdefghi".split("")), "count");
  assert.equal(pollProblem("Hei?", "single", ["a", "x".repeat(101)]), "length");
  assert.equal(pollProblem("Hei?", "single", ["a", "a"]), "same");
  assert.equal(pollProblem("Hei?", "single", ["a", "b"]), null);
});

test("what changed is announced once", () => {
  const before = fromSnapshot(snapshot());
  let s = reduce(before, ev(11, "stage.spotlight", { ...eva, item_id: 12 }));
  assert.deepEqual(qaChanges(s, before), [{ key: "stage", values: { name: "Eva Ekspert" } }]);
  const youOnStage = reduce(before, ev(11, "stage.spotlight", { ...alice, item_id: null }));
  assert.deepEqual(qaChanges(youOnStage, before), [{ key: "you_stage" }]);
  const withQuestion = asked(s, 12, 1, "Hva nå?", alice);
  const picked = reduce(withQuestion, ev(13, "question.picked", { question_id: 1, at: 1 }));
  assert.deepEqual(qaChanges(picked, withQuestion), [{ key: "answering", values: { text: "Hva nå?" } }]);
  assert.deepEqual(qaChanges(picked, picked), []);
  s = reduce(picked, ev(14, "poll.launched", { poll_id: 1, question: "Ord?", kind: "word", options: [], at: 2 }));
  assert.deepEqual(qaChanges(s, picked), [{ key: "poll", values: { question: "Ord?" } }]);
  const closed = reduce(s, ev(15, "poll.closed", { poll_id: 1, at: 3 }));
  assert.deepEqual(qaChanges(closed, s), [{ key: "poll_closed" }]);
  assert.deepEqual(qaChanges(s, null), []);
});

test("every reaction has a glyph, and the set is the server's", () => {
  assert.deepEqual(REACTIONS, ["applause", "heart", "thumbs_up", "laugh", "idea", "surprised"]);
  for (const name of REACTIONS) assert.ok(REACTION_GLYPHS[name]);
});
