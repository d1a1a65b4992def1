// Builds the browser bundle into dist/: `npm run build` (node build.mjs).
//
// Two entry points, room.js (the participant's page) and console.js (the facilitator's),
// as ES modules with code splitting: what both use goes into shared chunks, and the shared
// notes editor (CodeMirror and Yjs, most of the bytes) is a chunk of its own that the pages
// load with a dynamic import() when they first mount a note (src/notes-loader.js). The
// entries keep their names (the templates load /static/room.js and /static/console.js as
// type="module"); chunks are dist/chunks/<name>-<hash>.js, named by their content, and
// the folder is emptied on every build so no stale chunk stays behind.
import { realpathSync } from "node:fs";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

export const STATIC = dirname(fileURLToPath(import.meta.url));
export const DIST = join(STATIC, "dist");
export const CHUNKS = "chunks";

export const options = {
  absWorkingDir: STATIC,
  entryPoints: ["src/room.js", "src/console.js"],
  bundle: true,
  splitting: true,
  format: "esm",
  target: "es2020",
  minify: true,
  sourcemap: true,
  outdir: DIST,
  entryNames: "[name]",
  chunkNames: `${CHUNKS}/[name]-[hash]`,
  logLevel: "warning",
};

async function build() {
  await rm(join(DIST, CHUNKS), { recursive: true, force: true });
  await esbuild.build(options);
  await mkdir(DIST, { recursive: true });
  await copyFile(join(STATIC, "css", "forum.css"), join(DIST, "forum.css"));
}

// run as a script (`node build.mjs`), not when a test imports `options`
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await build();
}
