// The chat form. A sent message waits in an outbox until the server acknowledges it;
// across a reconnect it is resent with the same command id, so it is posted exactly once.
// The draft being typed is never touched by re-rendering, and survives a reload too.

import { byId } from "./dom.js";
import { gettext } from "./i18n.js";
import { renderChat } from "./view.js";

const CHAT_MAX_CHARS = 2000;

export function setupChat({ client, session, boot, listeners, showError }) {
  const form = byId("chat-form");
  const input = byId("chat-input");
  const list = byId("chat");
  const draftKey = `forum.draft.${boot.gathering}`;
  let outbox = [];

  const render = () => session.state && renderChat(list, session.state, outbox);
  listeners.push((state, previous) => {
    if (!previous || state.chat !== previous.chat) render();
  });
  if (!form || !input) return;

  try {
    input.value = sessionStorage.getItem(draftKey) || input.value;
  } catch { /* storage may be off */ }
  const saveDraft = () => {
    try { sessionStorage.setItem(draftKey, input.value); } catch { /* ignore */ }
  };
  input.addEventListener("input", saveDraft);

  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (text.length > CHAT_MAX_CHARS) {
      showError({ code: "too_large", message: gettext("The message is too long.") });
      return;
    }
    const id = client.nextId();
    outbox = [...outbox, { id, text }];
    input.value = "";
    saveDraft();
    render();
    const answer = await client.send("chat.send", { text }, { id });
    outbox = outbox.filter((m) => m.id !== id);
    if (!answer.ok) {
      showError(answer.error);
      if (!input.value) input.value = text; // give the words back to fix and resend
      saveDraft();
    }
    render();
  });
}
