// Questions, polls and the stage in the view state, and how their events change it.
// Pure: no DOM, no I/O. It mirrors facilitation/questions.py, polls.py and stage.py.
// reducer.js spreads QA_HANDLERS into its handlers and qaFromSnapshot into its state.

export const REACTIONS = ["applause", "heart", "thumbs_up", "laugh", "idea", "surprised"];
export const REACTION_GLYPHS = {
  applause: "👏", heart: "❤️", thumbs_up: "👍", laugh: "😄", idea: "💡", surprised: "😮",
};
export const QUESTION_MAX_CHARS = 500;
export const POLL_QUESTION_MAX_CHARS = 300;
export const POLL_OPTION_MAX_CHARS = 100;
export const POLL_MAX_OPTIONS = 8;
export const POLL_WORD_MAX_CHARS = 40;
const STAGE_KINDS = new Set(["expert_talk", "qa"]);
const TALK_KIND = "expert_talk";
const QA_KIND = "qa";

export function qaFromSnapshot(snapshot) {
  return {
    questions: snapshot.questions ?? [],
    anonymous_questions: Boolean(snapshot.anonymous_questions),
    qa_item: snapshot.qa_item ?? null,
    polls: snapshot.polls ?? [],
    spotlight: snapshot.spotlight ?? null,
    consent: snapshot.consent ?? null,
    recording: snapshot.recording ?? null,
    // versions of this page's own anonymous questions whose `question.asked` has not come
    // yet: the ack can beat the broadcast (markMine). A snapshot says `mine` itself.
    mine_pending: [],
  };
}

const withQuestion = (s, id, change) => ({
  ...s, questions: s.questions.map((q) => (q.question_id === id ? { ...q, ...change(q) } : q)),
});
const withPoll = (s, id, change) => ({
  ...s, polls: s.polls.map((p) => (p.poll_id === id ? { ...p, ...change(p) } : p)),
});

export const QA_HANDLERS = {
  "question.asked": (s, d, event) => {
    const pending = s.mine_pending || [];
    const ours = event !== undefined && pending.includes(event.version);
    return {
      ...s,
      questions: [...s.questions, {
        question_id: d.question_id, text: d.text, asked_at: d.at, author: d.author ?? null,
        votes: 0, status: "open", answered_at: null, advance: false,
        mine: ours || Boolean(d.author && s.you && d.author.person_id === s.you.person_id),
        voted: false,
      }],
      ...(ours ? { mine_pending: pending.filter((v) => v !== event.version) } : {}),
    };
  },
  // asked on the forum before the gathering (question.bring_advance), with its votes. Who
  // voted is private: a page learns its own earlier vote from its next snapshot.
  "question.brought": (s, d) => ({
    ...s,
    questions: [...s.questions, {
      question_id: d.question_id, text: d.text, asked_at: d.at, author: d.author,
      votes: d.votes, status: "open", answered_at: null, advance: true,
      mine: Boolean(s.you && d.author.person_id === s.you.person_id), voted: false,
    }],
  }),
  "question.upvoted": (s, d) => withQuestion(s, d.question_id, () => ({ votes: d.votes })),
  "question.unvoted": (s, d) => withQuestion(s, d.question_id, () => ({ votes: d.votes })),
  "question.picked": (s, d) => withQuestion(s, d.question_id, () => ({ status: "answering" })),
  "question.answered": (s, d) => withQuestion(s, d.question_id,
    () => ({ status: "answered", answered_at: d.at })),
  "question.hidden": (s, d) => ({
    ...s, questions: s.questions.filter((q) => q.question_id !== d.question_id),
  }),
  "questions.settings_changed": (s, d) => ({ ...s, anonymous_questions: Boolean(d.anonymous_allowed) }),
  "questions.opened": (s, d) => ({ ...s, qa_item: d.item_id }),
  "questions.closed": (s) => ({ ...s, qa_item: null }),
  "poll.launched": (s, d) => ({
    ...s,
    polls: [...s.polls, {
      poll_id: d.poll_id, question: d.question, kind: d.kind, options: d.options,
      launched_at: d.at, closed_at: null, item_id: d.item_id ?? null, respondents: 0,
      counts: d.options.map(() => 0), words: [], mine: null,
    }],
  }),
  "poll.results": (s, d) => withPoll(s, d.poll_id,
    () => ({ respondents: d.respondents, counts: d.counts, words: d.words })),
  "poll.closed": (s, d) => withPoll(s, d.poll_id, () => ({ closed_at: d.at })),
  "stage.spotlight": (s, d) => ({
    ...s, spotlight: { person_id: d.person_id, name: d.name, municipality: d.municipality ?? null },
  }),
  "stage.cleared": (s) => ({ ...s, spotlight: null }),
  "stage.floor_ended": (s) => ({ ...s, speaker: null }),
  "recording.consent_given": (s, d) => ({
    ...s,
    consent: {
      person_id: d.person_id, name: d.name, item_id: d.item_id ?? null, at: d.at,
      qa_item_id: d.qa_item_id ?? null,
    },
  }),
  "recording.consent_withdrawn": (s) => ({ ...s, consent: null }),
  "recording.started": (s, d) => ({
    ...s,
    recording: {
      person_id: d.person_id, name: d.name, item_id: d.item_id ?? null, started_at: d.at,
      by_person_id: d.by_person_id, consent_at: d.consent_at,
    },
  }),
  "recording.stopped": (s) => ({ ...s, recording: null }),
};

// --- what this person did (the server never says who voted or answered what) ----------------

export const markVoted = (s, questionId, voted) => withQuestion(s, questionId, () => ({ voted }));
// One spelling per word, as the server counts it (facilitation/polls.py `normalise_word`:
// white space collapsed and trimmed, case folded). Lower, upper, then lower case again
// folds like Python's casefold (ß and ẞ -> ss), and casefold has no final sigma.
export const normaliseWord = (word) => word.replace(/\s+/g, " ").trim()
  .toLowerCase().toUpperCase().toLowerCase().replaceAll("ς", "σ");
// The answer as the server keeps it: choices once each, in option order; the word normalised.
export const markAnswer = (s, pollId, { choices = [], word = null } = {}) => withPoll(s, pollId,
  () => ({
    mine: {
      choices: [...new Set(choices)].sort((a, b) => a - b),
      word: word === null ? null : normaliseWord(word),
    },
  }));
// An anonymous question of one's own arrives without an author: recognise it by its text.
// `version` is the ack's (the version of the question's event). With several server workers
// the ack may come before the broadcast: then the question is marked when its event comes.
export function markMine(s, text, version) {
  if (typeof version === "number" && version > s.version) {
    return { ...s, mine_pending: [...(s.mine_pending || []), version] };
  }
  const mine = [...s.questions].reverse()
    .find((q) => q.author === null && !q.mine && q.text === text);
  return mine ? withQuestion(s, mine.question_id, () => ({ mine: true })) : s;
}

// --- derived views --------------------------------------------------------------------------

// Most votes first, then in the order asked (facilitation/questions.py `ordered`).
export function orderedQuestions(questions) {
  return [...questions].sort((a, b) => (b.votes - a.votes) || (a.asked_at - b.asked_at)
    || (a.question_id - b.question_id));
}

export const answeringNow = (s) => s.questions.find((q) => q.status === "answering") || null;
export const openPoll = (s) => s.polls.find((p) => p.closed_at === null) || null;
// The poll to show: the open one, else the last one (its final results).
export const shownPoll = (s) => openPoll(s) || (s.polls.length ? s.polls[s.polls.length - 1] : null);
// Whom the agenda item at `index` puts on stage (facilitation/stage.py `item_expert_id`):
// the expert it names, or for a Q&A that names nobody right after an expert talk, that
// talk's expert. null: nobody.
export function itemExpertId(agenda, index) {
  const item = agenda[index];
  if (!item || !STAGE_KINDS.has(item.kind)) return null;
  const before = index > 0 ? agenda[index - 1] : null;
  if (item.expert_id == null && item.kind === QA_KIND && before && before.kind === TALK_KIND) {
    return before.expert_id ?? null;
  }
  return item.expert_id ?? null;
}

// Whether a consent is for the item `itemId` (facilitation/recording.py `covers`): the one
// it was given in, or the Q&A after it that the person agreed to as well.
const covers = (consent, itemId) => itemId === consent.item_id
  || (consent.qa_item_id != null && itemId === consent.qa_item_id);

// The consent that allows recording now (facilitation/recording.py `valid_consent`): given
// by the person in the spotlight for the agenda item that runs.
export function validConsent(s) {
  const { consent, spotlight } = s;
  if (!consent || !spotlight || consent.person_id !== spotlight.person_id) return null;
  return covers(consent, s.current ? s.current.item_id : null) ? consent : null;
}

// The Q&A item right after the running one, if it keeps `personId` on stage: what a
// consent may take in as well (facilitation/recording.py `following_qa`). null: none.
export function followingQa(s, personId) {
  if (!s.current) return null;
  const after = s.current.index + 1;
  const item = s.agenda[after];
  if (!item || item.kind !== QA_KIND) return null;
  return itemExpertId(s.agenda, after) === personId ? item : null;
}
export const hasStage = (s, personId) => Boolean(s.spotlight) && s.spotlight.person_id === personId;
const runs = (role) => role === "facilitator" || role === "programme_lead";
// Who picks questions and marks them answered: runners, and the expert who has the stage.
export const mayModerate = (s) => Boolean(s.you) && (runs(s.you.role)
  || (s.you.role === "expert" && hasStage(s, s.you.person_id)));

// Results as bars: per option its count and share of the respondents (whole percents).
export function pollBars(poll) {
  return poll.options.map((label, index) => {
    const count = poll.counts[index] || 0;
    const percent = poll.respondents ? Math.round((count * 100) / poll.respondents) : 0;
    return { index, label, count, percent };
  });
}

// The expert's own coming slot (an expert talk or Q&A that names them and has not started):
// {item, minutes, previous (the item before it, or null)}; null when there is none.
export function expertSlot(s, personId) {
  if (s.phase === "ended") return null;
  const from = s.current ? s.current.index + 1 : 0;
  for (let index = from; index < s.agenda.length; index += 1) {
    const item = s.agenda[index];
    if (item.expert_id === personId && STAGE_KINDS.has(item.kind)) {
      return { item, minutes: item.planned_minutes, previous: index > 0 ? s.agenda[index - 1] : null };
    }
  }
  return null;
}

// Parse the console's options field: one option per line, blank lines dropped.
export function parseOptions(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean);
}

// Check a poll before launching it, as the server would: null, or a reason key.
export function pollProblem(question, kind, options) {
  if (!question.trim()) return "question";
  if (question.trim().length > POLL_QUESTION_MAX_CHARS) return "question";
  if (kind === "word") return null;
  if (options.length < 2 || options.length > POLL_MAX_OPTIONS) return "count";
  if (options.some((o) => o.length > POLL_OPTION_MAX_CHARS)) return "length";
  if (new Set(options).size !== options.length) return "same";
  return null;
}

// --- announcements (pure: the caller puts them into its aria-live region) -------------------

// [{key, values}] for what changed: the caller translates (keys are msgids with %(x)s).
export function qaChanges(state, previous) {
  const said = [];
  if (!previous) return said;
  const you = state.you ? state.you.person_id : null;
  const stage = state.spotlight ? state.spotlight.person_id : null;
  const before = previous.spotlight ? previous.spotlight.person_id : null;
  if (stage !== null && stage !== before) {
    said.push(stage === you ? { key: "you_stage" } : { key: "stage", values: { name: state.spotlight.name } });
  }
  const now = answeringNow(state);
  const then = answeringNow(previous);
  if (now && (!then || then.question_id !== now.question_id)) {
    said.push({ key: "answering", values: { text: now.text } });
  }
  if (state.qa_item !== null && state.qa_item !== previous.qa_item) said.push({ key: "qa_open" });
  const poll = openPoll(state);
  const pollBefore = openPoll(previous);
  if (poll && (!pollBefore || pollBefore.poll_id !== poll.poll_id)) {
    said.push({ key: "poll", values: { question: poll.question } });
  }
  if (pollBefore && !openPoll(state) && state.polls.some((p) => p.poll_id === pollBefore.poll_id)) {
    said.push({ key: "poll_closed" });
  }
  return said;
}
