// The stage, questions, polls and reactions in the room (participants, experts, observers,
// and the console, which adds its controls in qa-controls.js). Data reaches the DOM as text.

import { commandRunner } from "./client.js";
import { byId, el, setText } from "./dom.js";
import { format, gettext, ngettext } from "./i18n.js";
import {
  REACTION_GLYPHS, answeringNow, expertSlot, hasStage, markAnswer, markMine, markVoted,
  mayModerate, orderedQuestions, pollBars, qaChanges, QUESTION_MAX_CHARS, shownPoll,
} from "./qa-state.js";

const FLOAT_MS = 2600;
const FLOATS_MAX = 30;

const runs = (role) => role === "facilitator" || role === "programme_lead";
const speaks = (role) => role !== "observer";

// Translated announcements for qa-state.js `qaChanges`.
export function qaAnnouncements(state, previous) {
  return qaChanges(state, previous).map(({ key, values = {} }) => {
    if (key === "you_stage") return gettext("You have the stage.");
    if (key === "stage") return format(gettext("%(name)s has the stage."), values);
    if (key === "answering") return format(gettext("Now answering: %(text)s"), values);
    if (key === "qa_open") return gettext("Questions and answers now.");
    if (key === "poll") return format(gettext("New poll: %(question)s"), values);
    if (key === "poll_closed") return gettext("The poll is closed.");
    return "";
  }).filter(Boolean);
}

export function expertSlotText(slot) {
  const values = { title: slot.item.title, minutes: slot.minutes };
  if (!slot.previous) {
    return format(ngettext("Your slot: %(title)s, %(minutes)s minute — it opens the gathering.",
      "Your slot: %(title)s, %(minutes)s minutes — it opens the gathering.", slot.minutes), values);
  }
  return format(ngettext("Your slot: %(title)s, %(minutes)s minute — starts after %(previous)s.",
    "Your slot: %(title)s, %(minutes)s minutes — starts after %(previous)s.", slot.minutes),
  { ...values, previous: slot.previous.title });
}

// Keep the keyboard focus on "the same" control when a list is drawn anew.
function keepFocus(container, draw) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.focusKey : null;
  draw();
  if (key) container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
}

export function setupQa({ client, session, boot, listeners, showError, setStatus }) {
  const ui = {
    banner: byId("stage-banner"), waiting: byId("expert-waiting"), slot: byId("expert-slot"),
    focus: byId("questions-focus"), answering: byId("answering"), answeringText: byId("answering-text"),
    pickNext: byId("pick-next"), form: byId("question-form"), text: byId("question-text"),
    anonymousField: byId("question-anonymous-field"), anonymous: byId("question-anonymous"),
    list: byId("questions"), empty: byId("questions-empty"), poll: byId("poll"),
    pollEmpty: byId("poll-empty"), reactions: byId("reactions"), layer: byId("reaction-layer"),
    announcer: byId("qa-announcer"),
  };
  if (!ui.list) return;
  const me = boot.person_id;
  // our own live region: the room's announcer speaks for the agenda in the same update
  const announce = (text) => setText(ui.announcer, text);

  const run = commandRunner(client, { setStatus, showError });

  // --- the stage and the expert's waiting area -----------------------------------------------

  function renderStage(state) {
    const on = state.phase !== "ended" && state.spotlight;
    ui.banner.hidden = !on;
    if (on) {
      setText(ui.banner, hasStage(state, me) ? gettext("You have the stage.")
        : format(gettext("On stage: %(name)s"), { name: state.spotlight.name }));
    }
    const slot = hasStage(state, me) ? null : expertSlot(state, me);
    ui.waiting.hidden = !slot;
    if (slot) setText(ui.slot, expertSlotText(slot));
  }

  // --- questions -----------------------------------------------------------------------------

  function questionItem(state, q) {
    const moderator = mayModerate(state);
    const canVote = speaks(state.you.role) && !q.mine && q.status !== "answered"
      && state.phase !== "ended";
    const key = (action) => `${action}:${q.question_id}`;
    const statusText = q.status === "answering" ? gettext("Now answering")
      : q.status === "answered" ? gettext("Answered") : "";
    const author = q.author ? q.author.name + (q.author.municipality ? `, ${q.author.municipality}` : "")
      : gettext("Anonymous");
    return el("li", { class: `question is-${q.status}${q.mine ? " is-mine" : ""}` },
      el("p", { class: "question-text" }, q.text),
      el("p", { class: "question-meta" },
        el("span", { class: "question-author" }, author),
        q.mine ? el("span", { class: "question-mine" }, gettext("your question")) : null,
        el("span", { class: "question-votes" }, format(ngettext("%(count)s vote", "%(count)s votes", q.votes), { count: q.votes })),
        statusText ? el("span", { class: "question-status" }, statusText) : null),
      el("p", { class: "question-actions" },
        canVote ? el("button", {
          type: "button", class: "secondary vote-button", "aria-pressed": q.voted ? "true" : "false",
          "data-focus-key": key("vote"), "data-action": "vote", "data-question": q.question_id,
        }, q.voted ? gettext("Voted") : gettext("Vote")) : null,
        moderator && q.status === "open" && state.phase === "live" ? el("button", {
          type: "button", class: "secondary", "data-focus-key": key("pick"), "data-action": "pick",
          "data-question": q.question_id,
        }, gettext("Answer now")) : null,
        moderator && q.status !== "answered" && state.phase === "live" ? el("button", {
          type: "button", class: "secondary", "data-focus-key": key("answered"),
          "data-action": "answered", "data-question": q.question_id,
        }, gettext("Mark answered")) : null,
        runs(state.you.role) && state.phase !== "ended" ? el("button", {
          type: "button", class: "danger", "data-focus-key": key("hide"), "data-action": "hide",
          "data-question": q.question_id,
        }, gettext("Hide")) : null));
  }

  function renderQuestions(state) {
    const ordered = orderedQuestions(state.questions);
    keepFocus(ui.list, () => ui.list.replaceChildren(...ordered.map((q) => questionItem(state, q))));
    ui.empty.hidden = ordered.length > 0;
    ui.focus.hidden = state.qa_item === null;
    const now = answeringNow(state);
    ui.answering.hidden = !now;
    if (now) setText(ui.answeringText, now.text);
    if (ui.pickNext) {
      ui.pickNext.hidden = !mayModerate(state);
      ui.pickNext.disabled = state.phase !== "live" || !state.questions.some((q) => q.status === "open");
    }
    if (ui.anonymousField) {
      ui.anonymousField.hidden = !state.anonymous_questions;
      if (!state.anonymous_questions) ui.anonymous.checked = false;
    }
    if (ui.form) {
      for (const control of ui.form.elements) control.disabled = state.phase === "ended";
    }
  }

  ui.list.addEventListener("click", async (click) => {
    const button = click.target.closest("button[data-action]");
    if (!button || !session.state) return;
    const id = Number(button.dataset.question);
    const action = button.dataset.action;
    if (action === "vote") {
      const q = session.state.questions.find((x) => x.question_id === id);
      if (!q) return;
      const answer = await run(q.voted ? "question.unvote" : "question.upvote", { question_id: id });
      if (answer && answer.ok) session.update(markVoted(session.state, id, !q.voted));
    } else if (action === "pick") {
      await run("question.pick", { question_id: id });
    } else if (action === "answered") {
      await run("question.answered", { question_id: id });
    } else if (action === "hide") {
      if (window.confirm(gettext("Hide this question for everyone?"))) await run("question.hide", { question_id: id });
    }
  });

  ui.pickNext?.addEventListener("click", () => run("question.pick"));

  ui.form?.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const text = ui.text.value.trim();
    if (!text) return;
    if (text.length > QUESTION_MAX_CHARS) {
      showError({ code: "too_large", message: gettext("The question is too long.") });
      return;
    }
    const anonymous = Boolean(ui.anonymous && ui.anonymous.checked && session.state.anonymous_questions);
    ui.text.value = "";
    const answer = await run("question.ask", anonymous ? { text, anonymous } : { text });
    if (answer && answer.ok) {
      if (anonymous) session.update(markMine(session.state, text, answer.version));
      announce(gettext("Your question is asked."));
    } else if (!ui.text.value) {
      ui.text.value = text; // give the words back to fix and resend
    }
  });

  // --- the poll ------------------------------------------------------------------------------

  let drawnPoll = null; // "id:open" of the poll whose form is on the page

  function results(poll) {
    const total = el("p", { class: "poll-total" },
      format(ngettext("%(count)s answer", "%(count)s answers", poll.respondents),
        { count: poll.respondents }));
    if (poll.kind === "word") {
      const words = poll.words.map((w) => el("li", {},
        el("span", { class: "poll-word" }, w.word), " ",
        el("span", { class: "poll-count" }, String(w.count))));
      return el("div", { class: "poll-results" }, total,
        words.length ? el("ul", { class: "poll-words" }, ...words) : null);
    }
    const bars = pollBars(poll).map((bar) => el("li", { class: "poll-bar" },
      el("span", { class: "poll-option" }, bar.label),
      el("meter", { min: 0, max: Math.max(poll.respondents, 1), value: bar.count, "aria-hidden": "true" }),
      el("span", { class: "poll-count" },
        format(gettext("%(count)s (%(percent)s per cent)"), { count: bar.count, percent: bar.percent }))));
    return el("div", { class: "poll-results" }, total, el("ul", { class: "poll-bars" }, ...bars));
  }

  function pollForm(state, poll) {
    const name = `poll-${poll.poll_id}`;
    const mine = poll.mine;
    let inputs;
    if (poll.kind === "word") {
      inputs = el("div", { class: "field" },
        el("label", { for: `${name}-word` }, gettext("Your word")),
        el("input", { type: "text", id: `${name}-word`, name: "word", maxlength: 40, required: true,
          value: mine && mine.word ? mine.word : null }));
    } else {
      const type = poll.kind === "single" ? "radio" : "checkbox";
      inputs = el("div", { class: "poll-options" }, ...poll.options.map((option, index) => el("div",
        { class: "field-check" },
        el("input", { type, id: `${name}-${index}`, name: "choice", value: index,
          checked: Boolean(mine && mine.choices.includes(index)) }),
        el("label", { for: `${name}-${index}` }, option))));
    }
    // the question is the fieldset's legend: a screen reader says it with each choice
    return el("form", { class: "poll-form", "data-poll": poll.poll_id },
      el("fieldset", {},
        el("legend", { class: "poll-question" }, poll.question),
        poll.kind === "multiple" ? el("p", { class: "poll-hint" }, gettext("Choose one or more")) : null,
        inputs),
      el("button", { type: "submit" }, mine ? gettext("Change answer") : gettext("Answer")));
  }

  function renderPoll(state) {
    const poll = shownPoll(state);
    ui.pollEmpty.hidden = Boolean(poll);
    if (!poll) {
      ui.poll.replaceChildren();
      drawnPoll = null;
      return;
    }
    const open = poll.closed_at === null && state.phase === "live";
    const drawn = `${poll.poll_id}:${open}`;
    if (drawn !== drawnPoll) { // a new poll, or it closed: draw it anew
      drawnPoll = drawn;
      const answerable = open && speaks(state.you.role);
      ui.poll.replaceChildren(...[
        answerable ? null : el("p", { class: "poll-question" }, poll.question),
        open ? null : el("p", { class: "poll-closed" }, gettext("The poll is closed. Final results:")),
        answerable ? pollForm(state, poll) : null,
        el("div", { class: "poll-results-host" }),
      ].filter(Boolean));
    }
    ui.poll.querySelector(".poll-results-host").replaceChildren(results(poll));
  }

  ui.poll?.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const form = submit.target;
    const pollId = Number(form.dataset.poll);
    const poll = session.state && session.state.polls.find((p) => p.poll_id === pollId);
    if (!poll) return;
    let fields;
    if (poll.kind === "word") {
      const word = form.elements.word.value.trim();
      if (!word) return;
      fields = { poll_id: pollId, word };
    } else {
      const choices = [...form.querySelectorAll("input[name=choice]:checked")].map((i) => Number(i.value));
      if (!choices.length) {
        setStatus(gettext("Choose an option first."));
        return;
      }
      fields = { poll_id: pollId, choices };
    }
    const answer = await run("poll.answer", fields);
    if (answer && answer.ok) {
      session.update(markAnswer(session.state, pollId,
        { choices: fields.choices || [], word: fields.word ?? null }));
      announce(gettext("Your answer is counted. You may change it until the poll closes."));
      const button = form.querySelector("button[type=submit]");
      if (button) setText(button, gettext("Change answer"));
    }
  });

  // --- reactions -----------------------------------------------------------------------------

  ui.reactions?.addEventListener("click", async (click) => {
    const button = click.target.closest("button[data-emoji]");
    if (!button) return;
    const answer = await client.react(button.dataset.emoji);
    if (answer.ok) return;
    if (answer.error.code === "rate_limited") setStatus(gettext("One reaction a second, please."));
    else if (answer.error.code !== "disconnected") showError(answer.error);
  });

  function float(emoji) {
    const glyph = REACTION_GLYPHS[emoji];
    if (!glyph || !ui.layer) return;
    while (ui.layer.childElementCount >= FLOATS_MAX) ui.layer.firstElementChild.remove();
    const node = el("span", { class: "reaction-float" }, glyph);
    node.style.left = `${5 + Math.random() * 85}%`; // CSSOM: allowed by the page's CSP
    ui.layer.append(node);
    setTimeout(() => node.remove(), FLOAT_MS);
  }
  client.on("reaction", (message) => float(message.data && message.data.emoji));

  function renderReactions(state) {
    if (!ui.reactions) return;
    for (const button of ui.reactions.querySelectorAll("button")) button.disabled = state.phase === "ended";
  }

  // --- wiring --------------------------------------------------------------------------------

  listeners.push((state, previous) => {
    const changed = (key) => !previous || state[key] !== previous[key];
    if (changed("spotlight") || changed("agenda") || changed("current") || changed("phase")) renderStage(state);
    if (changed("questions") || changed("spotlight") || changed("qa_item") || changed("phase")
      || changed("anonymous_questions")) renderQuestions(state);
    if (changed("polls") || changed("phase")) renderPoll(state);
    if (changed("phase")) renderReactions(state);
    const said = qaAnnouncements(state, previous);
    if (said.length) announce(said.join(" "));
  });
  if (session.state) {
    renderStage(session.state);
    renderQuestions(session.state);
    renderPoll(session.state);
    renderReactions(session.state);
  }
}
