// notes-loader.js: the handle of a note whose editor is still loading.
import assert from "node:assert/strict";
import { test } from "node:test";

import { loadNotes, mountNote } from "../src/notes-loader.js";
import { tick } from "./fakes.js";

// Just enough DOM for the loader: elements that know their children.
class FakeElement {
  constructor(tag) {
    this.tag = tag;
    this.className = "";
    this.textContent = "";
    this.children = [];
    this.parent = null;
  }

  append(...nodes) {
    for (const node of nodes) {
      node.parent = this;
      this.children.push(node);
    }
  }

  remove() {
    if (!this.parent) return;
    this.parent.children = this.parent.children.filter((node) => node !== this);
    this.parent = null;
  }
}
globalThis.document = { createElement: (tag) => new FakeElement(tag) };

// A fake notes.js whose load the test finishes when it wants.
function fakeNotes() {
  const mounted = [];
  const calls = [];
  let finish;
  let fail;
  const module = {
    mountNote(socket, options) {
      const box = new FakeElement("div");
      box.className = "note";
      options.element.append(box);
      const handle = {
        session: { note: options.note },
        refresh: () => calls.push("refresh"),
        setReadOnly: (value) => calls.push(`readOnly ${value}`),
        destroy: () => {
          calls.push("destroy");
          box.remove();
        },
      };
      mounted.push({ socket, options, handle });
      return handle;
    },
  };
  const loaded = new Promise((resolve, reject) => {
    finish = () => resolve(module);
    fail = () => reject(new Error("offline"));
  });
  return { mounted, calls, load: () => loaded, finish: () => finish(), fail: () => fail() };
}

const classes = (element) => element.children.map((node) => node.className);

test("the handle comes at once and the editor replaces the wait when it is loaded", async () => {
  const notes = fakeNotes();
  const element = new FakeElement("section");
  const socket = {};
  const handle = mountNote(socket, { gathering: "g1", note: "plenary", element, userName: "Alice" },
    { load: notes.load });
  assert.deepEqual(classes(element), ["note-loading"]);
  assert.equal(element.children[0].textContent, "Connecting…");
  assert.equal(handle.session, null);
  handle.refresh(); // nothing to refresh yet: the editor asks when it subscribes
  notes.finish();
  const real = await handle.ready;
  assert.equal(notes.mounted.length, 1);
  assert.equal(notes.mounted[0].socket, socket);
  assert.deepEqual(notes.mounted[0].options,
    { gathering: "g1", note: "plenary", element, userName: "Alice" });
  assert.deepEqual(classes(element), ["note"]);
  assert.equal(handle.session, real.session);
  handle.refresh();
  handle.setReadOnly(true);
  assert.deepEqual(notes.calls, ["refresh", "readOnly true"]);
  handle.destroy();
  assert.deepEqual(notes.calls, ["refresh", "readOnly true", "destroy"]);
  assert.deepEqual(classes(element), []);
});

test("read-only set while loading mounts the editor read-only", async () => {
  const notes = fakeNotes();
  const element = new FakeElement("div");
  const handle = mountNote({}, { gathering: "g1", note: "b1:g1", element }, { load: notes.load });
  handle.setReadOnly(true);
  notes.finish();
  await handle.ready;
  assert.equal(notes.mounted[0].options.readOnly, true);
  assert.deepEqual(notes.calls, []);
});

test("a note destroyed while loading is never mounted", async () => {
  const notes = fakeNotes();
  const element = new FakeElement("div");
  const handle = mountNote({}, { gathering: "g1", note: "b1:g2", element }, { load: notes.load });
  handle.destroy();
  assert.deepEqual(classes(element), []);
  notes.finish();
  assert.equal(await handle.ready, null);
  assert.equal(notes.mounted.length, 0);
  assert.deepEqual(classes(element), []);
});

test("when the editor cannot be loaded the note says so", async () => {
  const notes = fakeNotes();
  const element = new FakeElement("div");
  const original = console.error;
  console.error = () => {};
  try {
    const handle = mountNote({}, { gathering: "g1", note: "plenary", element }, { load: notes.load });
    notes.fail();
    assert.equal(await handle.ready, null);
  } finally {
    console.error = original;
  }
  assert.deepEqual(classes(element), ["note-loading"]);
  assert.equal(element.children[0].textContent, "The notes could not be loaded.");
});

test("the notes module is fetched once, and again after a failed fetch", async () => {
  let fetches = 0;
  const failing = () => {
    fetches += 1;
    return Promise.reject(new Error("offline"));
  };
  await assert.rejects(loadNotes(failing));
  const module = { mountNote() {} };
  const working = () => {
    fetches += 1;
    return Promise.resolve(module);
  };
  assert.equal(await loadNotes(working), module);
  assert.equal(await loadNotes(working), module);
  await tick();
  assert.equal(fetches, 2);
});
