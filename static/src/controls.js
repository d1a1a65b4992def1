// The facilitator's controls. Agenda moves carry the item this console shows as current
// (`from_item`): if another console moved first the server answers `conflict`, and we just
// catch up instead of moving twice.

import { commandRunner } from "./client.js";
import { byId, hideKeepingFocus, setText } from "./dom.js";
import { gettext } from "./i18n.js";
import { isPaused, nextHand } from "./reducer.js";
import { callNextLabel } from "./view.js";

const EXTEND_MINUTES = 5;

export function setupControls({ client, session, listeners, setStatus, showError }) {
  const buttons = {
    open: byId("open-room"), previous: byId("previous-item"), next: byId("next-item"),
    extend: byId("extend-item"), pause: byId("pause-item"), call: byId("call-next"),
    end: byId("end-gathering"), notes: byId("reopen-notes"),
  };
  const shownItem = () => session.state?.current?.item_id ?? null; // what this console shows

  function refresh(state = session.state) {
    const live = Boolean(state) && state.phase === "live";
    const current = live && state.current !== null;
    const enable = {
      open: Boolean(state) && state.phase === "lobby",
      previous: current && state.current.index > 0,
      next: live && (state.current === null || state.current.index < state.agenda.length - 1),
      extend: current,
      pause: current,
      call: live && nextHand(state) !== null, // the server passes over those not here
      end: Boolean(state) && state.phase !== "ended",
      notes: Boolean(state) && state.phase === "ended",
    };
    for (const [name, button] of Object.entries(buttons)) {
      if (button) button.disabled = !enable[name];
    }
    // "Open room" is needed once: afterwards its place in the bar goes to the others
    if (buttons.open) hideKeepingFocus(buttons.open, Boolean(state) && !enable.open, byId("console-now"));
    if (buttons.notes) {
      buttons.notes.hidden = !enable.notes;
      setText(buttons.notes, state && state.notes_reopened
        ? gettext("Close the notes again") : gettext("Reopen the notes for writing"));
    }
    if (buttons.call && state) setText(buttons.call, callNextLabel(state));
    if (buttons.pause) {
      setText(buttons.pause, state && isPaused(state) ? gettext("Resume timer") : gettext("Pause timer"));
    }
  }

  const send = commandRunner(client, {
    setStatus,
    showError: async (error) => {
      if (error.code !== "conflict") return showError(error);
      setStatus(gettext("The agenda had already moved on. Your view is updated."));
      return session.sync();
    },
  });

  async function run(type, fields = {}) {
    if ((await send(type, fields)) !== null) refresh();
  }

  const on = (button, handler) => button && button.addEventListener("click", handler);
  on(buttons.open, () => run("room.open"));
  on(buttons.previous, () => run("agenda.previous", { from_item: shownItem() }));
  on(buttons.next, () => run("agenda.next", { from_item: shownItem() }));
  on(buttons.extend, () => run("agenda.extend", { minutes: EXTEND_MINUTES }));
  on(buttons.pause, () => run(isPaused(session.state) ? "agenda.resume" : "agenda.pause"));
  on(buttons.call, () => run("hand.call_next"));
  on(buttons.notes, () => run(session.state.notes_reopened ? "notes.close" : "notes.reopen"));
  on(buttons.end, () => {
    if (window.confirm(gettext("End the gathering for everyone? This cannot be undone."))) {
      run("gathering.end");
    }
  });
  listeners.push((state) => refresh(state));
  refresh();
}
