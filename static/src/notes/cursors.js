// Other people's cursors and selections in a note (from the Yjs awareness), and ours sent
// to them. Like y-codemirror.next's yRemoteSelections, but coloured with classes from a
// fixed palette instead of inline style attributes: the forum's Content-Security-Policy
// (style-src 'self') blocks inline styles, and a colour string from another client must
// never reach a style attribute anyway. Names are text nodes, never HTML.

import * as Y from "yjs";
import { RangeSet } from "@codemirror/state";
import { Decoration, EditorView, ViewPlugin, WidgetType } from "@codemirror/view";

// White text on each of these has a contrast ratio of at least 5.8:1 (WCAG AA: 4.5:1).
export const PALETTE = ["#1a5c8a", "#a3361f", "#2e6b30", "#7a3e9d", "#8a5300", "#0f6b6b",
  "#b0264f", "#4a5568"];

export function colorFor(name) {
  let hash = 0;
  for (const char of String(name)) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  const color = PALETTE[hash % PALETTE.length];
  return { color, colorLight: `${color}33` };
}

function paletteIndex(user, clientId) {
  const index = PALETTE.indexOf(user && user.color);
  return index >= 0 ? index : clientId % PALETTE.length;
}

const rules = {
  ".cm-note-caret": { position: "relative", borderLeft: "2px solid", marginLeft: "-1px",
                      marginRight: "-1px", boxSizing: "border-box" },
  ".cm-note-caret-name": { position: "absolute", top: "-1.4em", left: "-2px",
                           fontSize: "0.75em", lineHeight: "1.2", padding: "0 3px",
                           color: "#ffffff", whiteSpace: "nowrap", userSelect: "none",
                           pointerEvents: "none", borderRadius: "2px 2px 2px 0" },
};
PALETTE.forEach((color, i) => {
  rules[`.cm-note-color-${i}`] = { borderColor: color };
  rules[`.cm-note-color-${i} .cm-note-caret-name`] = { backgroundColor: color };
  rules[`.cm-note-selection-${i}`] = { backgroundColor: `${color}33` };
});
export const cursorsTheme = EditorView.baseTheme(rules);

class CaretWidget extends WidgetType {
  constructor(index, name) {
    super();
    this.index = index;
    this.name = name;
  }

  toDOM() {
    const caret = document.createElement("span");
    caret.className = `cm-note-caret cm-note-color-${this.index}`;
    caret.setAttribute("aria-hidden", "true");
    caret.append("\u2060");
    const label = document.createElement("span");
    label.className = "cm-note-caret-name";
    label.textContent = this.name;
    caret.append(label, "\u2060");
    return caret;
  }

  eq(other) {
    return other.index === this.index && other.name === this.name;
  }

  ignoreEvent() {
    return true;
  }
}

function absolute(ydoc, ytext, relative) {
  try {
    const position = Y.createAbsolutePositionFromRelativePosition(
      Y.createRelativePositionFromJSON(relative), ydoc);
    return position && position.type === ytext ? position.index : null;
  } catch {
    return null; // a malformed position from another client: ignore it
  }
}

function selectionMarks(from, to, index) {
  const mark = Decoration.mark({ class: `cm-note-selection-${index}` });
  return from < to ? [mark.range(from, to)] : [];
}

// ytext and awareness: the note's Y.Text and y-protocols Awareness.
export function remoteCursors(ytext, awareness) {
  return ViewPlugin.fromClass(class {
    constructor(view) {
      this.decorations = RangeSet.of([]);
      this.listener = ({ added, updated, removed }) => {
        if ([...added, ...updated, ...removed].some((id) => id !== awareness.clientID)) {
          view.dispatch({}); // recompute the decorations
        }
      };
      awareness.on("change", this.listener);
    }

    destroy() {
      awareness.off("change", this.listener);
    }

    update(update) {
      this.sendOurs(update);
      const ranges = [];
      const length = update.state.doc.length;
      awareness.getStates().forEach((state, clientId) => {
        const cursor = state && state.cursor;
        if (clientId === awareness.clientID || !cursor || !cursor.anchor || !cursor.head) return;
        const anchor = absolute(ytext.doc, ytext, cursor.anchor);
        const head = absolute(ytext.doc, ytext, cursor.head);
        if (anchor === null || head === null || anchor > length || head > length) return;
        const index = paletteIndex(state.user, clientId);
        const name = String((state.user && state.user.name) || "?");
        ranges.push(...selectionMarks(Math.min(anchor, head), Math.max(anchor, head), index));
        ranges.push(Decoration.widget({ widget: new CaretWidget(index, name),
                                        side: head - anchor > 0 ? -1 : 1 }).range(head));
      });
      this.decorations = Decoration.set(ranges, true);
    }

    sendOurs(update) {
      const ours = awareness.getLocalState();
      if (ours == null) return;
      const focused = update.view.hasFocus && update.view.dom.ownerDocument.hasFocus();
      if (!focused) return;
      const selection = update.state.selection.main;
      const anchor = Y.createRelativePositionFromTypeIndex(ytext, selection.anchor);
      const head = Y.createRelativePositionFromTypeIndex(ytext, selection.head);
      const current = ours.cursor;
      if (current && Y.compareRelativePositions(Y.createRelativePositionFromJSON(current.anchor),
                                                anchor)
          && Y.compareRelativePositions(Y.createRelativePositionFromJSON(current.head), head)) {
        return;
      }
      awareness.setLocalStateField("cursor", { anchor, head });
    }
  }, { decorations: (plugin) => plugin.decorations });
}
