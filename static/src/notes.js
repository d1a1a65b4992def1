// A shared note in the page: a CodeMirror 6 editor bound to the note's Yjs text, with
// other people's cursors, a save state and an accessible label.
//
//   import { mountNote } from "./notes.js";
//   const handle = mountNote(socket, { gathering, note: "plenary", element, userName });
//   handle.setReadOnly(true);   // e.g. for the harvest view
//   handle.destroy();
//
// `socket` is the page's socket.io-client Socket (the room's ProtocolClient.socket);
// `element` is an empty container, or a <section> whose first heading labels the editor.
// The server decides who may write (`may_write` when subscribing); `readOnly: true` makes
// the editor read-only in any case. On a reconnect the note syncs again and sends the
// changes made offline.

import { EditorState, Compartment } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { defaultKeymap } from "@codemirror/commands";
import { yCollab, ySyncAnnotation, yUndoManagerKeymap } from "y-codemirror.next";
import * as Y from "yjs";
import { gettext, format } from "./i18n.js";
import { NoteSession, CHUNK_MAX } from "./notes/session.js";
import { colorFor, cursorsTheme, remoteCursors } from "./notes/cursors.js";

const INSERT_MAX = CHUNK_MAX - 2048; // bytes typed or pasted at once (one update, one message)

const theme = EditorView.theme({
  "&": { border: "1px solid #6b7280", borderRadius: "4px", backgroundColor: "#ffffff",
         color: "#111827", minHeight: "8em" },
  "&.cm-focused": { outline: "3px solid #1a5c8a", outlineOffset: "1px" },
  ".cm-scroller": { fontFamily: "inherit", lineHeight: "1.5" },
  // room above the first line for the names on other people's cursors
  ".cm-content": { fontSize: "1rem", padding: "1.2em 0.5em 0.5em", minHeight: "8em" },
  "&.cm-note-readonly": { backgroundColor: "#f3f4f6" },
});

function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

function element(tag, className) {
  const node = document.createElement(tag);
  node.className = className;
  return node;
}

function stateText({ state, mayWrite }, readOnly) {
  if (state === "error") return "";
  if (state === "connecting") return gettext("Connecting…");
  if (state === "offline") return gettext("Offline. Reconnecting…");
  if (state === "offline_pending") {
    return gettext("Offline. Your changes will be sent when the connection is back.");
  }
  if (readOnly || !mayWrite) return gettext("Read only");
  return state === "saving" ? gettext("Saving…") : gettext("All changes saved");
}

function errorText(code) {
  if (code === "forbidden") return gettext("You do not have access to these notes.");
  if (code === "not_found") return gettext("These notes do not exist.");
  return gettext("The notes could not be loaded.");
}

// The editor lives in a shadow root: CodeMirror then styles it with a constructed style
// sheet, which the forum's Content-Security-Policy (style-src 'self') allows; on the
// document itself it would insert a <style> element, which the CSP blocks. An id reference
// cannot cross into the shadow root, so the heading's text is the editor's label.
function labelFor(container) {
  const heading = container.querySelector("h1, h2, h3, h4, h5, h6");
  const text = heading && heading.textContent.trim();
  return { "aria-label": text || gettext("Shared notes") };
}

export function mountNote(socket, { gathering, note, element: container, readOnly = false,
                                    userName = "" }) {
  const box = element("div", "note");
  const host = element("div", "note-editor");
  const shadow = host.attachShadow({ mode: "open" });
  const saveState = element("p", "note-state");
  const alert = element("p", "note-alert");
  alert.setAttribute("role", "status");
  const people = element("p", "note-people");
  box.append(host, saveState, alert, people);
  container.append(box);

  const editable = new Compartment();
  let forcedReadOnly = readOnly;
  let view = null;
  let lastAlert = "";

  const say = (text) => {
    if (text !== lastAlert) alert.textContent = lastAlert = text;
  };
  const writable = () => !forcedReadOnly && session.mayWrite && !session.error;
  const editableExtensions = () => {
    const canWrite = writable();
    return [
      EditorState.readOnly.of(!canWrite),
      EditorView.contentAttributes.of({ ...labelFor(container),
                                        "aria-readonly": String(!canWrite),
                                        "aria-multiline": "true" }),
      EditorView.editorAttributes.of({ class: canWrite ? "" : "cm-note-readonly" }),
    ];
  };
  const insertLimit = EditorState.transactionFilter.of((tr) => {
    if (!tr.docChanged || tr.annotation(ySyncAnnotation) || !tr.isUserEvent("input")) return tr;
    let inserted = 0;
    tr.changes.iterChanges((fromA, toA, fromB, toB, text) => {
      inserted += utf8Length(text.toString());
    });
    if (inserted <= INSERT_MAX) return tr;
    say(gettext("That is too much text at once. Paste it in smaller parts."));
    return [];
  });

  const build = () => {
    if (view) view.destroy();
    const undoManager = new Y.UndoManager(session.text);
    view = new EditorView({
      parent: shadow,
      root: shadow,
      state: EditorState.create({
        doc: session.text.toString(),
        extensions: [
          keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
          EditorView.lineWrapping,
          theme,
          cursorsTheme,
          yCollab(session.text, null, { undoManager }),
          remoteCursors(session.text, session.awareness),
          insertLimit,
          editable.of(editableExtensions()),
        ],
      }),
    });
  };

  const showPeople = () => {
    const names = [];
    session.awareness.getStates().forEach((state, clientId) => {
      const name = state && state.user && state.user.name;
      if (clientId !== session.awareness.clientID && name && !names.includes(name)) {
        names.push(String(name));
      }
    });
    people.textContent = names.length ? format(gettext("Also here: %(names)s"),
                                               { names: names.join(", ") }) : "";
  };

  let shownWritable = null;
  let syncedWritable = null;
  let wasOffline = false;
  const onStatus = (status) => {
    const now = writable();
    const synced = status.state === "saved" || status.state === "saving";
    // announce a change of rights, not the first answer after connecting
    if (synced && syncedWritable !== null && now !== syncedWritable) {
      say(now ? gettext("You can write in these notes now.") : gettext("Read only"));
    }
    if (synced) syncedWritable = now;
    const everSynced = syncedWritable !== null;
    // before the first sync, a socket that is not connected yet is just "connecting"
    const offline = status.state.startsWith("offline") && everSynced;
    saveState.textContent = everSynced || status.state === "error"
      ? stateText(status, forcedReadOnly) : gettext("Connecting…");
    if (status.error) say(errorText(status.error));
    else if (offline) say(stateText(status, forcedReadOnly));
    else if (wasOffline) say("");
    wasOffline = offline;
    if (view && now !== shownWritable) {
      view.dispatch({ effects: editable.reconfigure(editableExtensions()) });
      shownWritable = now;
    }
  };

  const session = new NoteSession(socket, {
    gathering, note, user: { name: userName, ...colorFor(userName) }, onStatus,
    onReset: (code) => {
      build();
      session.awareness.on("change", showPeople);
      if (code !== "forbidden") {
        say(gettext("The server did not accept your last change; the notes were reloaded."));
      }
    },
  });
  build();
  session.awareness.on("change", showPeople);
  session.start();

  return {
    session,
    // ask the server again whether we may write (the gathering ended, notes reopened, ...)
    refresh() {
      session.onConnect();
    },
    setReadOnly(value) {
      forcedReadOnly = Boolean(value);
      onStatus({ state: session.state, mayWrite: session.mayWrite, error: session.error });
    },
    destroy() {
      session.destroy();
      if (view) view.destroy();
      box.remove();
    },
  };
}
