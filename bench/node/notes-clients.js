// N editors typing in ONE shared note at once, for bench/notes.py (it can be run by hand too).
// Each editor is a socket.io-client connection (websocket only) with its own Yjs document,
// speaking y-protocols through `note.subscribe` and `note` (docs/protocol.md, "Shared
// notes"); all of them live in this one Node process, so every time is read on one clock.
//
//   node bench/node/notes-clients.js --url http://127.0.0.1:8080 --gathering GID \
//       --tokens tokens.json --editors 100 --seconds 20 --pid SERVER_PID [--metrics-token T]
//   node bench/node/notes-clients.js --mode read --url ... --gathering GID --tokens tokens.json
//
// Every editor signs in with its invitation link as a browser does (the form and its CSRF
// token); tokens.json is {"sender": "<facilitator's token>", "participants": [...]}.
// type mode: all subscribe and sync; then each types --rate keystrokes a second (one letter
// at its own cursor, its own phase) for --seconds. Sending is the browser's (static/src/
// notes/session.js): local changes wait in `pending`, at most one `note` update is in flight
// per editor, and what was typed meanwhile is merged into one update sent --debounce ms
// after the previous one's acknowledgement. Measured: propagation (from an update's send to
// its arrival at each other editor: its clock is covered by the receiver's state vector
// after applying), acknowledgement time, the server's CPU (/proc/<pid>/stat) per update,
// its event loop's lag (its /metrics histogram, scraped before and after, when
// --metrics-token is given), and whether all the documents are identical at the end.
// read mode: the facilitator signs in, subscribes, syncs and prints the note's text.
// Prints one JSON object on stdout; progress on stderr ("] typing", "] typed" mark the
// typing phase for a profiler). Only the address given is contacted. Never fails on a time.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { io } from "socket.io-client";
import * as Y from "yjs";

import { bounded, cpuSecondsOf, percentile, round, signIn } from "./forum.js";

const TEXT = "text";
const SYNC = 0;
const STEP1 = 0;
const STEP2 = 1;
const UPDATE = 2;
const LETTERS = "abcdefghijklmnopqrstuvwxyzæøå ";

function parseArgs(argv) {
  const options = {
    url: "http://127.0.0.1:8080", mode: "type", gathering: "", note: "plenary", tokens: "",
    editors: 10, seconds: 20, rate: 2, debounce: 80, pid: 0, clkTck: 100, metricsToken: "",
    signinConcurrency: 16, settle: 1, drain: 30, ackTimeout: 60,
  };
  const numeric = new Set(["editors", "seconds", "rate", "debounce", "pid", "clkTck",
    "signinConcurrency", "settle", "drain", "ackTimeout"]);
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in options) || i + 1 >= argv.length) {
      throw new Error(`unknown or incomplete option ${argv[i]}`);
    }
    options[key] = numeric.has(key) ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!["type", "read"].includes(options.mode)) throw new Error("--mode type or read");
  return options;
}

const opts = parseArgs(process.argv);
const now = () => performance.now();
const log = (text) => process.stderr.write(`[notes N=${opts.editors}] ${text}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuSeconds = (pid) => (pid ? cpuSecondsOf(pid, opts.clkTck) : NaN);

// --- the server's /metrics: the loop-lag histogram --------------------------------------
async function scrape() {
  if (!opts.metricsToken) return null;
  const answer = await fetch(`${opts.url}/metrics`, {
    headers: { Authorization: `Bearer ${opts.metricsToken}` } });
  if (answer.status !== 200) return null;
  const buckets = new Map();
  let sum = 0;
  let count = 0;
  for (const line of (await answer.text()).split("\n")) {
    const bucket = /^forum_event_loop_lag_seconds_bucket\{le="([^"]+)"\} (\S+)/.exec(line);
    if (bucket) buckets.set(bucket[1], Number(bucket[2]));
    else if (line.startsWith("forum_event_loop_lag_seconds_sum ")) sum = Number(line.split(" ")[1]);
    else if (line.startsWith("forum_event_loop_lag_seconds_count ")) {
      count = Number(line.split(" ")[1]);
    }
  }
  return { buckets, sum, count };
}

// The largest lag seen between two scrapes, as the histogram's bucket bound ("<= x s").
function lagBetween(before, after) {
  if (!before || !after) return { max: null, mean: null, samples: 0 };
  const samples = after.count - before.count;
  let max = null;
  let below = 0;
  const bounds = [...after.buckets.keys()].sort((a, b) => Number(a) - Number(b));
  for (const le of bounds) {
    const inside = after.buckets.get(le) - (before.buckets.get(le) ?? 0);
    if (inside > below) {
      max = le;
      below = inside;
    }
  }
  return { max, mean: samples ? (after.sum - before.sum) / samples : null, samples };
}

const signInHere = (token) => signIn(opts.url, token);

// --- y-protocols ------------------------------------------------------------------------
function syncMessage(kind, payload) {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, SYNC);
  encoding.writeVarUint(encoder, kind);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}

function readSync(message) {
  const decoder = decoding.createDecoder(message);
  if (decoding.readVarUint(decoder) !== SYNC) return null;
  return { kind: decoding.readVarUint(decoder), payload: decoding.readVarUint8Array(decoder) };
}

const bytes = (data) => (data instanceof Uint8Array ? data : new Uint8Array(data));

// --- one editor -------------------------------------------------------------------------
class Editor {
  constructor(index, socket, run) {
    this.index = index;
    this.socket = socket;
    this.run = run;
    this.doc = new Y.Doc();
    this.text = this.doc.getText(TEXT);
    this.pending = [];
    this.inFlight = false;
    this.flushTimer = null;
    this.sent = []; // {end: own clock after it, at: send time}, in order
    this.seen = null; // per other editor: how many of its sends arrived here
    this.cursor = null;
    this.typed = 0;
    this.doc.on("update", (update, origin) => {
      if (origin === "server") return;
      this.pending.push(update);
      this.later();
    });
    socket.on("note", (data) => this.pushed(data));
  }

  request(event, fields) {
    return this.socket.timeout(opts.ackTimeout * 1000).emitWithAck(event, {
      gathering: opts.gathering, note: opts.note, ...fields });
  }

  async subscribe() {
    const joined = await this.request("note.subscribe", {});
    if (!joined.ok) throw new Error(`note.subscribe: ${JSON.stringify(joined)}`);
    const answer = await this.request("note", {
      message: syncMessage(STEP1, Y.encodeStateVector(this.doc)) });
    if (!answer.ok) throw new Error(`sync step 1: ${JSON.stringify(answer)}`);
    Y.applyUpdate(this.doc, readSync(bytes(answer.message)).payload, "server");
    return joined.may_write === true;
  }

  pushed(data) {
    if (data.gathering !== opts.gathering || data.note !== opts.note) return;
    const sync = readSync(bytes(data.message));
    if (!sync || sync.kind === STEP1) return;
    Y.applyUpdate(this.doc, sync.payload, "server");
    if (this.seen === null) return; // not typing yet
    const arrived = now();
    for (const client of Y.parseUpdateMeta(sync.payload).to.keys()) {
      const from = this.run.byClient.get(client);
      if (from === undefined || from === this) continue;
      const have = Y.getState(this.doc.store, client);
      let k = this.seen[from.index];
      while (k < from.sent.length && from.sent[k].end <= have) {
        this.run.propagation.push(arrived - from.sent[k].at);
        k += 1;
      }
      this.seen[from.index] = k;
    }
  }

  keystroke() {
    const position = this.cursor === null ? this.text.length
      : Y.createAbsolutePositionFromRelativePosition(this.cursor, this.doc).index;
    this.text.insert(position, LETTERS[(this.index + this.typed++) % LETTERS.length]);
    this.cursor = Y.createRelativePositionFromTypeIndex(this.text, position + 1);
  }

  later() {
    if (this.flushTimer !== null) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flush();
    }, opts.debounce);
  }

  async flush() {
    if (this.inFlight || this.pending.length === 0) return;
    const count = this.pending.length;
    const chunk = count === 1 ? this.pending[0] : Y.mergeUpdates(this.pending);
    this.inFlight = true;
    const at = now();
    this.sent.push({ end: Y.getState(this.doc.store, this.doc.clientID), at });
    const run = this.run;
    let answer;
    try {
      answer = await this.request("note", { message: syncMessage(UPDATE, chunk) });
    } catch (error) {
      answer = { ok: false, error: { code: "timeout", message: error.message } };
    }
    this.inFlight = false;
    if (answer.ok) {
      run.acks.push(now() - at);
      this.pending.splice(0, count);
    } else {
      run.refused += 1;
      if (run.examples.length < 3) run.examples.push(JSON.stringify(answer));
    }
    if (this.pending.length) this.later();
  }

  get idle() {
    return !this.inFlight && this.pending.length === 0 && this.flushTimer === null;
  }
}

function open(cookie) {
  return io(opts.url, {
    transports: ["websocket"], reconnection: false, forceNew: true,
    timeout: opts.ackTimeout * 1000, extraHeaders: { Cookie: cookie },
    auth: { gathering: opts.gathering } }); // as the browser does
}

function connected(socket) {
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", (error) => reject(new Error(`connect: ${error.message}`)));
  });
}

function digest(text) {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

async function readNote(tokens) {
  const socket = open(await signInHere(tokens.sender));
  await connected(socket);
  const reader = new Editor(0, socket, null);
  await reader.subscribe();
  const text = reader.text.toString();
  socket.disconnect();
  return { text, sha: digest(text), length: text.length };
}

async function typeNote(tokens) {
  const n = opts.editors;
  if (tokens.participants.length < n) throw new Error(`tokens for ${n} editors needed`);
  const started = now();
  const cookies = await bounded(tokens.participants.slice(0, n), opts.signinConcurrency, signInHere);
  log(`signed in ${n} in ${((now() - started) / 1000).toFixed(1)} s`);
  const run = { propagation: [], acks: [], refused: 0, examples: [], byClient: new Map() };
  const editors = cookies.map((cookie, i) => new Editor(i, open(cookie), run));
  await Promise.all(editors.map((e) => connected(e.socket)));
  const writable = await bounded(editors, 16, (e) => e.subscribe());
  log(`subscribed and synced ${n}; ${writable.filter(Boolean).length} may write`);
  for (const e of editors) {
    run.byClient.set(e.doc.clientID, e);
    e.seen = new Int32Array(n);
  }
  await sleep(opts.settle * 1000);

  const lagBefore = await scrape();
  const cpu0 = cpuSeconds(opts.pid);
  const mine0 = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  log("typing");
  const t0 = now();
  const interval = 1000 / opts.rate;
  const end = t0 + opts.seconds * 1000;
  await Promise.all(editors.map(async (e) => {
    let due = t0 + Math.random() * interval; // each its own phase
    while (due < end) {
      await sleep(Math.max(0, due - now()));
      e.keystroke();
      due += interval;
    }
  }));
  const typedFor = (now() - t0) / 1000;
  const drainEnd = now() + opts.drain * 1000;
  const final = () => Y.encodeStateVector(editors[0].doc).toString();
  while (now() < drainEnd) {
    const target = final();
    if (editors.every((e) => e.idle && Y.encodeStateVector(e.doc).toString() === target)) {
      break;
    }
    await sleep(20);
  }
  const cpuServer = cpuSeconds(opts.pid) - cpu0;
  const mine = process.cpuUsage(mine0);
  loop.disable();
  const lagAfter = await scrape();
  log("typed");

  const texts = editors.map((e) => e.text.toString());
  const sends = editors.reduce((sum, e) => sum + e.sent.length, 0);
  const keystrokes = editors.reduce((sum, e) => sum + e.typed, 0);
  run.propagation.sort((a, b) => a - b);
  run.acks.sort((a, b) => a - b);
  const lag = lagBetween(lagBefore, lagAfter);
  for (const e of editors) e.socket.disconnect();
  return {
    editors: n,
    may_write: writable.filter(Boolean).length,
    seconds: round(typedFor, 1),
    keystrokes,
    updates: sends,
    acked: run.acks.length,
    refused: run.refused,
    refused_examples: run.examples,
    deliveries: run.propagation.length,
    expected_deliveries: run.acks.length * (n - 1),
    propagation_p50_ms: round(percentile(run.propagation, 0.5), 1),
    propagation_p95_ms: round(percentile(run.propagation, 0.95), 1),
    propagation_p99_ms: round(percentile(run.propagation, 0.99), 1),
    propagation_max_ms: round(run.propagation[run.propagation.length - 1], 1),
    ack_p50_ms: round(percentile(run.acks, 0.5), 1),
    ack_p95_ms: round(percentile(run.acks, 0.95), 1),
    server_cpu_s: round(cpuServer, 3),
    server_cpu_per_update_ms: round((cpuServer * 1000) / Math.max(1, run.acks.length), 2),
    server_loop_lag_max_s: lag.max,
    server_loop_lag_mean_ms: lag.mean === null ? null : round(lag.mean * 1000, 1),
    clients_cpu_s: round((mine.user + mine.system) / 1e6, 2),
    clients_loop_delay_max_ms: round(loop.max / 1e6, 1),
    identical: texts.every((t) => t === texts[0]),
    text: texts[0],
    sha: digest(texts[0]),
    length: texts[0].length,
  };
}

async function main() {
  const tokens = JSON.parse(readFileSync(opts.tokens, "utf8"));
  const result = opts.mode === "read" ? await readNote(tokens) : await typeNote(tokens);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await sleep(200);
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`notes-clients.js: ${error.stack || error}\n`);
  process.exit(1);
});
