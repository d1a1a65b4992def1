// The bundle's shape (build.mjs, built again in memory with esbuild's metafile): the room and
// the console load the shared notes editor (CodeMirror, Yjs, y-protocols, lib0) on demand,
// through a dynamic import(), never among the modules a page imports before it runs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { relative } from "node:path";
import * as esbuild from "esbuild";

import { options } from "../build.mjs";

const EDITOR = /node_modules\/(@codemirror\/|yjs\/|y-codemirror\.next\/|y-protocols\/|lib0\/)/;
const ENTRIES = ["dist/room.js", "dist/console.js"];

async function metafile() {
  const result = await esbuild.build({ ...options, write: false, metafile: true, logLevel: "silent" });
  // output paths are relative to absWorkingDir (static/)
  return result.metafile;
}

// Every output a page fetches before its entry runs: the entry and its static imports.
function staticGraph(outputs, entry) {
  const seen = new Set();
  const walk = (path) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const imported of outputs[path].imports) {
      if (imported.kind === "import-statement" && !imported.external) walk(imported.path);
    }
  };
  walk(entry);
  return seen;
}

function dynamicImports(outputs, paths) {
  return [...paths].flatMap((path) => outputs[path].imports
    .filter((imported) => imported.kind === "dynamic-import").map((imported) => imported.path));
}

const inputsOf = (outputs, paths) => [...paths].flatMap((path) => Object.keys(outputs[path].inputs));
const bytesOf = (outputs, paths) => [...paths].reduce((sum, path) => sum + outputs[path].bytes, 0);

test("the entries keep their names and are ES modules with shared chunks", async () => {
  const { outputs } = await metafile();
  assert.equal(options.format, "esm");
  assert.equal(options.splitting, true);
  for (const entry of ENTRIES) assert.ok(outputs[entry], `${entry} is built`);
  for (const path of Object.keys(outputs)) {
    if (ENTRIES.includes(path) || path.endsWith(".map")) continue;
    assert.match(path, /^dist\/chunks\/[\w-]+-[A-Z0-9]{8}\.js$/, "chunks are named by their content");
  }
});

test("no page imports the notes editor before it runs", async (t) => {
  const { outputs } = await metafile();
  for (const entry of ENTRIES) {
    const upFront = staticGraph(outputs, entry);
    const editor = inputsOf(outputs, upFront).filter((input) => EDITOR.test(input));
    assert.deepEqual(editor, [], `${entry} imports the notes editor up front`);
    assert.ok(!inputsOf(outputs, upFront).includes("src/notes.js"), `${entry} imports src/notes.js up front`);
    // ... and loads it on demand: one chunk, the same for both pages
    const onDemand = dynamicImports(outputs, upFront);
    assert.equal(onDemand.length, 1, `${entry} has one dynamic import`);
    const notes = staticGraph(outputs, onDemand[0]);
    const loaded = inputsOf(outputs, notes);
    assert.ok(loaded.includes("src/notes.js"));
    assert.ok(loaded.some((input) => input.includes("node_modules/@codemirror/view/")));
    assert.ok(loaded.some((input) => input.includes("node_modules/yjs/")));
    const before = bytesOf(outputs, upFront);
    const total = bytesOf(outputs, new Set([...upFront, ...notes]));
    t.diagnostic(`${relative("dist", entry)}: ${before} bytes before the notes, ${total} in all`);
    assert.ok(before < total / 2, `${entry}: most bytes are the notes editor's`);
  }
  const [room, console_] = ENTRIES.map((entry) => dynamicImports(outputs, staticGraph(outputs, entry)));
  assert.deepEqual(room, console_, "the room and the console share the notes chunk");
});
