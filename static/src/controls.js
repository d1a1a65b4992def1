// The facilitator's controls. Agenda moves carry the item this console shows as current
// (`from_item`): if another console moved first the server answers `conflict`, and we just
// catch up instead of moving twice.

import { byId, setText } from "./dom.js";
import { gettext } from "./i18n.js";
import { isPaused } from "./reducer.js";

const EXTEND_MINUTES = 5;

export function setupControls({ client, session, listeners, setStatus, showError }) {
  const buttons = {
    open: byId("open-room"), previous: byId("previous-item"), next: byId("next-item"),
    extend: byId("extend-item"), pause: byId("pause-item"), call: byId("call-next"),
    end: byId("end-gathering"), notes: byId("reopen-notes"),
  };
  let busy = false;
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
      call: live && state.hands.length > 0,
      end: Boolean(state) && state.phase !== "ended",
      notes: Boolean(state) && state.phase === "ended",
    };
    for (const [name, button] of Object.entries(buttons)) {
      if (button) button.disabled = !enable[name];
    }
    if (buttons.notes) {
      buttons.notes.hidden = !enable.notes;
      setText(buttons.notes, state && state.notes_reopened
        ? gettext("Close the notes again") : gettext("Reopen the notes for writing"));
    }
    if (buttons.pause) {
      setText(buttons.pause, state && isPaused(state) ? gettext("Resume timer") : gettext("Pause timer"));
    }
  }

  // One command at a time. Buttons are not disabled while it runs (that would drop the
  // keyboard focus); clicks are ignored instead.
  async function run(type, fields = {}) {
    if (busy) return;
    busy = true;
    const answer = await client.send(type, fields);
    busy = false;
    if (answer.ok) setStatus("");
    else if (answer.error.code === "conflict") {
      setStatus(gettext("The agenda had already moved on. Your view is updated."));
      await session.sync();
    } else showError(answer.error);
    refresh();
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
