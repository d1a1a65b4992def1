// `mountNote` as the pages use it, with the editor loaded on demand: the shared notes
// editor (notes.js: CodeMirror, Yjs, y-protocols; most of the browser code's bytes) is a
// chunk of its own (build.mjs), fetched with a dynamic import() the first time a note is
// mounted. The room and the console render and connect without it.
//
//   import { mountNote } from "./notes-loader.js";
//   const handle = mountNote(socket, { gathering, note, element, readOnly, userName });
//
// Same arguments as notes.js's mountNote, and the handle is returned at once with the same
// methods (refresh, setReadOnly, destroy); calls made before the editor is there are
// remembered and applied when it mounts. `handle.ready` resolves to the real handle (null
// if the handle was destroyed first, or the editor could not be loaded). Until then the
// container says "Connecting…", as the editor itself does before its first sync.

import { gettext } from "./i18n.js";

let loading = null;

// The notes module, fetched once; after a failure (e.g. offline) the next mount tries again.
export function loadNotes(importer = () => import("./notes.js")) {
  if (!loading) {
    loading = importer().catch((error) => {
      loading = null;
      throw error;
    });
  }
  return loading;
}

export function mountNote(socket, options, { load = loadNotes } = {}) {
  const container = options.element;
  const waiting = document.createElement("p");
  waiting.className = "note-loading";
  waiting.textContent = gettext("Connecting…");
  container.append(waiting);

  let real = null;
  let destroyed = false;
  let readOnly = null; // the last setReadOnly before the editor was there

  const handle = {
    get session() {
      return real ? real.session : null;
    },
    // before the editor is there there is nothing to refresh: it asks when it subscribes
    refresh() {
      if (real) real.refresh();
    },
    setReadOnly(value) {
      if (real) real.setReadOnly(value);
      else readOnly = Boolean(value);
    },
    destroy() {
      destroyed = true;
      waiting.remove();
      if (real) real.destroy();
      real = null;
    },
  };

  handle.ready = load().then((notes) => {
    if (destroyed) return null;
    real = notes.mountNote(socket, readOnly === null ? options : { ...options, readOnly });
    waiting.remove();
    return real;
  }).catch((error) => {
    console.error("could not open the shared note", options.note, error);
    if (!destroyed) {
      waiting.textContent = gettext("The notes could not be loaded.");
    }
    return null;
  });
  return handle;
}
