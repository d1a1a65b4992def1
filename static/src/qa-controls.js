// The console's controls for the stage, questions and polls: give or take the stage,
// allow anonymous questions, launch and close polls. Picking, answering and hiding
// questions are buttons in the question list itself (qa.js).

import { commandRunner } from "./client.js";
import { byId, el, setText } from "./dom.js";
import { format, gettext } from "./i18n.js";
import { openPoll, parseOptions, pollProblem } from "./qa-state.js";
import { pageLocale } from "./view.js";

export function pollProblemText(problem) {
  if (problem === "question") return gettext("Write the poll's question (at most 300 characters).");
  if (problem === "count") return gettext("A choice poll has 2 to 8 options, one per line.");
  if (problem === "length") return gettext("An option has at most 100 characters.");
  if (problem === "same") return gettext("Two options are the same.");
  return "";
}

export function setupQaControls({ client, session, listeners, setStatus, showError }) {
  const ui = {
    stageForm: byId("stage-form"), stagePerson: byId("stage-person"), stageClear: byId("stage-clear"),
    takeOff: byId("stage-take-off"),
    anonymous: byId("anonymous-allowed"), launch: byId("poll-launch"), question: byId("poll-question"),
    kind: byId("poll-kind"), options: byId("poll-options"), optionsField: byId("poll-options-field"),
    close: byId("poll-close"),
  };
  if (!ui.launch) return;

  const run = commandRunner(client, { setStatus, showError });

  function renderStageChoices(state) {
    const chosen = ui.stagePerson.value;
    const people = [...state.presence].sort((a, b) => a.name.localeCompare(b.name, pageLocale()));
    ui.stagePerson.replaceChildren(...people.map((p) => el("option", { value: p.person_id },
      p.municipality ? `${p.name} (${p.municipality})` : p.name)));
    if (people.some((p) => String(p.person_id) === chosen)) ui.stagePerson.value = chosen;
  }

  function refresh(state) {
    const live = state.phase === "live";
    ui.stageClear.disabled = !live || !state.spotlight;
    // whoever has the floor is on stage too: the facilitator can end their turn
    const speaker = live ? state.speaker : null;
    ui.takeOff.hidden = !speaker;
    if (speaker) setText(ui.takeOff, format(gettext("Take %(name)s off the stage"), { name: speaker.name }));
    for (const control of ui.stageForm.elements) {
      if (control !== ui.stageClear) control.disabled = !live;
    }
    ui.anonymous.checked = state.anonymous_questions;
    ui.anonymous.disabled = state.phase === "ended";
    for (const control of ui.launch.elements) control.disabled = !live;
    ui.close.disabled = !live || !openPoll(state);
    ui.optionsField.hidden = ui.kind.value === "word";
  }

  ui.stageForm.addEventListener("submit", (submit) => {
    submit.preventDefault();
    const personId = Number(ui.stagePerson.value);
    if (personId) run("stage.spotlight", { person_id: personId });
  });
  ui.stageClear.addEventListener("click", () => run("stage.clear"));
  ui.takeOff.addEventListener("click", () => {
    const speaker = session.state && session.state.speaker;
    if (speaker) run("stage.take_off", { person_id: speaker.person_id });
  });
  ui.anonymous.addEventListener("change", async () => {
    const answer = await run("questions.settings", { anonymous_allowed: ui.anonymous.checked });
    if (!answer || !answer.ok) refresh(session.state);
  });
  ui.kind.addEventListener("change", () => { ui.optionsField.hidden = ui.kind.value === "word"; });
  ui.close.addEventListener("click", () => {
    const poll = session.state && openPoll(session.state);
    if (poll) run("poll.close", { poll_id: poll.poll_id });
  });
  ui.launch.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const question = ui.question.value.trim();
    const kind = ui.kind.value;
    const options = kind === "word" ? [] : parseOptions(ui.options.value);
    const problem = pollProblem(question, kind, options);
    if (problem) {
      setStatus(pollProblemText(problem));
      return;
    }
    const answer = await run("poll.launch", kind === "word" ? { question, kind } : { question, kind, options });
    if (answer && answer.ok) {
      ui.launch.reset();
      ui.optionsField.hidden = false;
      setText(byId("status"), "");
    }
  });

  listeners.push((state, previous) => {
    if (!previous || state.presence !== previous.presence) renderStageChoices(state);
    refresh(state);
  });
  if (session.state) {
    renderStageChoices(session.state);
    refresh(session.state);
  }
}
