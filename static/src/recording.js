// Recording an expert slot in the browser (facilitation/recording.py is the rule):
// everyone sees the recording indicator while it runs; the person in the spotlight agrees
// to be recorded (in their slot, and if a Q&A that keeps them on stage follows, in that
// too), or withdraws; in the console the facilitator starts and stops it.

import { commandRunner } from "./client.js";
import { byId, hideKeepingFocus, setText } from "./dom.js";
import { format, gettext } from "./i18n.js";
import { followingQa, validConsent } from "./qa-state.js";

// What the indicator says ("" when nothing is recorded).
export function indicatorText(state, personId) {
  const run = state.phase === "live" ? state.recording : null;
  if (!run) return "";
  if (run.person_id === personId) return gettext("Recording: you are being recorded.");
  return format(gettext("Recording: %(name)s is being recorded. Nobody else is in the recording."),
    { name: run.name });
}

// The Q&A item a valid consent takes in after the running item (null: none).
function agreedQa(state) {
  const consent = validConsent(state);
  if (!consent || consent.qa_item_id == null || !state.current
    || state.current.item_id !== consent.item_id) return null;
  return state.agenda.find((item) => item.id === consent.qa_item_id) || null;
}

// What the person in the spotlight is told about their consent.
export function consentText(state, personId) {
  if (state.recording && state.recording.person_id === personId) return gettext("You are being recorded now.");
  if (!validConsent(state)) return gettext("You have not agreed to be recorded.");
  const qa = agreedQa(state);
  return qa ? format(gettext("You agreed to be recorded in this slot and in “%(title)s” after it."), { title: qa.title })
    : gettext("You agreed to be recorded in this slot.");
}

// The console's line about the recording: what the facilitator can do next.
export function controlText(state) {
  if (state.phase !== "live") return gettext("Recording is possible while the gathering is live.");
  if (state.recording) return format(gettext("Recording %(name)s."), { name: state.recording.name });
  if (!state.spotlight) return gettext("Give an expert the stage to record their talk.");
  if (!validConsent(state)) {
    return format(gettext("Waiting for %(name)s to agree to be recorded."), { name: state.spotlight.name });
  }
  const qa = agreedQa(state);
  if (qa) {
    return format(gettext("%(name)s agreed to be recorded, also in “%(title)s” after this slot."),
      { name: state.spotlight.name, title: qa.title });
  }
  return format(gettext("%(name)s agreed to be recorded."), { name: state.spotlight.name });
}

// What to announce besides the indicator (a live region that speaks when a recording
// starts but is silent when it empties): that the recording stopped.
export function recordingAnnouncements(state, previous) {
  return previous && previous.recording && !state.recording ? [gettext("The recording has stopped.")] : [];
}

export function setupRecording({ client, session, boot, listeners, announce, showError }) {
  const ui = {
    indicator: byId("recording-indicator"), consent: byId("recording-consent"),
    consentStatus: byId("recording-consent-status"), give: byId("recording-consent-give"),
    giveQa: byId("recording-consent-give-qa"), withdraw: byId("recording-consent-withdraw"),
    controlStatus: byId("recording-control-status"),
    start: byId("recording-start"), stop: byId("recording-stop"),
  };
  if (!ui.indicator) return;
  const me = boot.person_id;
  const run = commandRunner(client, { showError });

  function renderConsent(state) {
    const mine = state.phase === "live" && state.spotlight && state.spotlight.person_id === me;
    ui.consent.hidden = !mine;
    if (!mine) return;
    const consent = validConsent(state);
    const qa = followingQa(state, me); // a Q&A after this slot that keeps them on stage
    ui.withdraw.hidden = !consent; // shown first: it takes the focus of a button that goes
    hideKeepingFocus(ui.give, Boolean(consent), ui.withdraw);
    if (ui.giveQa) {
      if (qa) {
        setText(ui.giveQa, format(gettext("I agree to be recorded here and in “%(title)s” after it"),
          { title: qa.title }));
      }
      hideKeepingFocus(ui.giveQa, !qa || Boolean(consent && consent.qa_item_id === qa.id), ui.withdraw);
    }
    setText(ui.consentStatus, consentText(state, me));
  }

  function renderControls(state) {
    if (!ui.start) return;
    setText(ui.controlStatus, controlText(state));
    const live = state.phase === "live";
    ui.start.disabled = !live || Boolean(state.recording) || !validConsent(state);
    ui.stop.disabled = !live || !state.recording;
  }

  ui.give.addEventListener("click", () => run("recording.consent"));
  ui.giveQa?.addEventListener("click", () => run("recording.consent", { include_qa: true }));
  ui.withdraw.addEventListener("click", () => run("recording.withdraw"));
  ui.start?.addEventListener("click", () => run("recording.start"));
  ui.stop?.addEventListener("click", () => run("recording.stop"));

  function render(state, previous) {
    setText(ui.indicator, indicatorText(state, me));
    renderConsent(state);
    renderControls(state);
    const said = recordingAnnouncements(state, previous);
    if (said.length) announce(said.join(" "));
  }

  listeners.push(render);
  if (session.state) render(session.state, null);
}
