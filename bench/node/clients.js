// N socket.io-client connections for the join-storm and fan-out benchmark (bench/storm.py
// runs this; it can be run by hand too). Websocket transport only, one Node process.
//
//   node bench/node/clients.js --url http://127.0.0.1:8080 --mode forum \
//       --gathering GID --tokens tokens.json --clients 100 --pid SERVER_PID
//   node bench/node/clients.js --url http://127.0.0.1:8090 --mode bare --clients 100 --pid PID
//   node bench/node/clients.js --url http://127.0.0.1:8080,http://127.0.0.1:8081 \
//       --mode forum --gathering GID --tokens tokens.json --clients 100 --pid PID0,PID1
//
// Several workers: --url takes a comma list (or is given several times); client i signs
// in at and connects to url i % K, the sender to the first. --pid takes a comma list too:
// CPU and memory are summed over those processes. The fan-out's latencies count every
// client; they are also given apart for the clients on the sender's worker ("local") and
// on the others ("remote", the broadcast crossing the workers' bus).
//
// Deliveries: a chat message counts once per client whose `room.join` was answered ok, in
// an `event` or inside an `events` batch; expected = those clients × messages. Messages
// reaching a connection whose join was refused are counted apart (deliveries_unjoined).
// When some are missing, clients_short / messages_short say who and which.
//
// forum mode: every client first signs in as a browser does with its invitation link
// (GET /signin/<token>, then POST the page's form with its CSRF token and the CSRF cookie;
// the 303 answer sets the session cookie), and connects with that cookie. tokens.json is
// {"sender": "<facilitator's token>", "participants": ["<token>", ...]}.
// bare mode: no sign-in, no cookie (bench/bare_python.py, bench/node/bare-server.js).
//
// Then: the sender connects and sends `room.join` (and `room.open` in forum mode, so the
// gathering is live); the server's idle memory and CPU are read from /proc/<pid>; all N
// clients connect at once and each sends `room.join` when connected ("joined" is the time
// from the first connect to the last join answer); after a short pause the sender posts
// `chat.send` at --rate messages a second, the send time in the text, and every client
// records each message's delivery latency (one process, one clock). Prints one JSON object.
// Only the address given is contacted (use 127.0.0.1). Nothing here fails on a time.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { io } from "socket.io-client";

import { bounded, cpuSecondsOf, percentile, round, signIn } from "./forum.js";

const PREFIX = "storm";

function parseArgs(argv) {
  const options = {
    url: [], mode: "bare", gathering: "bench", tokens: "",
    clients: 100, messages: 100, rate: 10, pid: [], clkTck: 100, signinConcurrency: 16,
    settle: 2, joinTimeout: 600, drain: 20,
  };
  const numeric = new Set(["clients", "messages", "rate", "clkTck",
    "signinConcurrency", "settle", "joinTimeout", "drain"]);
  const lists = new Set(["url", "pid"]); // comma lists, or the option given again
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in options) || i + 1 >= argv.length) {
      throw new Error(`unknown or incomplete option ${argv[i]}`);
    }
    if (lists.has(key)) options[key].push(...argv[i + 1].split(",").filter(Boolean));
    else options[key] = numeric.has(key) ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!["forum", "bare"].includes(options.mode)) throw new Error("--mode forum or bare");
  if (options.url.length === 0) options.url.push("http://127.0.0.1:8080");
  options.pid = options.pid.map(Number).filter((pid) => pid > 0);
  return options;
}

const opts = parseArgs(process.argv);
const now = () => performance.now(); // ms, monotonic, this process's one clock
const log = (text) => process.stderr.write(`[clients ${opts.mode} N=${opts.clients}] ${text}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- the server's processes, from /proc: summed over --pid --------------------------------
function rssMiBOf(pid) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return line ? Number(line.split(/\s+/)[1]) / 1024 : NaN;
}

const summed = (read) => () => (opts.pid.length === 0 ? NaN
  : opts.pid.reduce((total, pid) => total + read(pid), 0));
const cpuSeconds = summed((pid) => cpuSecondsOf(pid, opts.clkTck));
const rssMiB = summed(rssMiBOf);
const urlOf = (i) => opts.url[i % opts.url.length]; // client i's worker; the sender's: 0

// --- signing in as a browser does ---------------------------------------------------------
const signInAt = (token, i) => signIn(urlOf(i), token); // client i's worker

// --- socket.io ----------------------------------------------------------------------------
let commandSerial = 0;
function command(socket, type, fields = {}) {
  const message = { id: `${type}-${++commandSerial}`, type, gathering: opts.gathering, ...fields };
  return socket.timeout(opts.joinTimeout * 1000).emitWithAck("command", message);
}

function open(cookie, url) {
  return io(url, {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    timeout: opts.joinTimeout * 1000,
    extraHeaders: cookie ? { Cookie: cookie } : {},
    auth: { gathering: opts.gathering }, // as the browser names its gathering (the bare ones ignore it)
  });
}

async function main() {
  const n = opts.clients;
  const tokens = opts.mode === "forum" ? JSON.parse(readFileSync(opts.tokens, "utf8")) : null;
  if (tokens && tokens.participants.length < n) {
    throw new Error(`${opts.tokens} has ${tokens.participants.length} participants, need ${n}`);
  }

  // 1. sign-in (forum mode): not part of the storm's time
  let cookies = new Array(n).fill(null);
  let senderCookie = null;
  let signinSeconds = 0;
  if (tokens) {
    const started = now();
    senderCookie = await signInAt(tokens.sender, 0);
    cookies = await bounded(tokens.participants.slice(0, n), opts.signinConcurrency, signInAt);
    signinSeconds = (now() - started) / 1000;
    log(`signed in ${n + 1} in ${signinSeconds.toFixed(2)} s`);
  }

  // 2. the sender, in the room first; the forum's gathering opened
  const sender = open(senderCookie, urlOf(0));
  await new Promise((resolve, reject) => {
    sender.once("connect", resolve);
    sender.once("connect_error", (error) => reject(new Error(`sender: ${error.message}`)));
  });
  const senderJoin = await command(sender, "room.join");
  if (!senderJoin.ok) throw new Error(`sender's room.join: ${JSON.stringify(senderJoin)}`);
  let opened = null;
  if (opts.mode === "forum") {
    const answer = await command(sender, "room.open");
    opened = answer.ok ? "opened" : answer.error?.code;
  }
  await sleep(500);

  // 3. the storm
  const rssIdle = rssMiB();
  const cpuIdle = cpuSeconds();
  const sockets = [];
  const joinedAt = new Float64Array(n).fill(NaN);
  const connectedAt = new Float64Array(n).fill(NaN);
  const failures = { connect: 0, join: 0, examples: [] };
  const latencies = [];
  const local = []; // latencies of the clients on the sender's worker
  const remote = []; // and on the other workers
  const perMessage = new Uint32Array(opts.messages); // clients each message reached
  const perClient = new Uint32Array(n); // messages each client got
  let delivered = 0; // to the clients whose room.join was answered ok
  let unjoinedDeliveries = 0;
  let expected = Infinity;
  let allDelivered = null;
  const everything = new Promise((resolve) => { allDelivered = resolve; });
  const t0 = now();
  const joins = [];
  for (let i = 0; i < n; i++) {
    const socket = open(cookies[i], urlOf(i));
    const sameWorker = i % opts.url.length === 0;
    sockets.push(socket);
    const seen = new Uint8Array(opts.messages);
    const posted = (event) => {
      if (event?.type !== "chat.posted") return;
      const parts = String(event.data?.text ?? "").split(" ");
      if (parts[0] !== PREFIX) return;
      const k = Number(parts[1]);
      if (seen[k]) return;
      seen[k] = 1;
      // the chat begins once every join has been answered: a refused join's connection
      // should hear nothing, and what it hears is counted apart
      if (!Number.isFinite(joinedAt[i])) {
        unjoinedDeliveries++;
        return;
      }
      perMessage[k]++;
      perClient[i]++;
      const latency = now() - Number(parts[2]);
      latencies.push(latency);
      (sameWorker ? local : remote).push(latency);
      if (++delivered >= expected) allDelivered();
    };
    // one commit's events come as one `event`, several as one `events` (docs/protocol.md)
    socket.on("event", posted);
    socket.on("events", (batch) => { for (const event of batch?.events ?? []) posted(event); });
    joins.push(new Promise((resolve) => {
      socket.once("connect_error", (error) => {
        failures.connect++;
        if (failures.examples.length < 3) failures.examples.push(`connect: ${error.message}`);
        resolve(false);
      });
      socket.once("connect", async () => {
        connectedAt[i] = now();
        try {
          const answer = await command(socket, "room.join");
          if (answer.ok) {
            joinedAt[i] = now();
            resolve(true);
            return;
          }
          if (failures.examples.length < 3) failures.examples.push(JSON.stringify(answer));
        } catch (error) {
          if (failures.examples.length < 3) failures.examples.push(`join: ${error.message}`);
        }
        failures.join++;
        resolve(false);
      });
    }));
  }
  const outcomes = await Promise.all(joins);
  const joined = outcomes.filter(Boolean).length;
  const lastJoin = Math.max(...Array.from(joinedAt).filter(Number.isFinite));
  const lastConnect = Math.max(...Array.from(connectedAt).filter(Number.isFinite));
  const cpuStorm = cpuSeconds() - cpuIdle;
  const joinTimes = Array.from(joinedAt).filter(Number.isFinite).map((t) => t - t0)
    .sort((a, b) => a - b);
  log(`joined ${joined}/${n} in ${((lastJoin - t0) / 1000).toFixed(2)} s`);
  await sleep(opts.settle * 1000);
  const rssJoined = rssMiB();

  // 4. the fan-out
  expected = joined * opts.messages;
  const acks = { ok: 0, refused: 0, examples: [] };
  const cpuChat0 = cpuSeconds();
  const start = now();
  const posts = [];
  for (let k = 0; k < opts.messages; k++) {
    const due = start + (k * 1000) / opts.rate;
    await sleep(Math.max(0, due - now()));
    const text = `${PREFIX} ${k} ${now().toFixed(3)} hei fra fasilitator`;
    posts.push(command(sender, "chat.send", { text }).then((answer) => {
      if (answer.ok) acks.ok++;
      else {
        acks.refused++;
        if (acks.examples.length < 3) acks.examples.push(JSON.stringify(answer));
      }
    }, (error) => {
      acks.refused++;
      if (acks.examples.length < 3) acks.examples.push(error.message);
    }));
  }
  await Promise.all(posts);
  if (delivered < expected) {
    await Promise.race([everything, sleep(opts.drain * 1000)]);
  }
  const cpuChat = cpuSeconds() - cpuChat0;
  const rssAfter = rssMiB();
  for (const list of [latencies, local, remote]) list.sort((a, b) => a - b);
  const short = Array.from(perClient).map((got, i) => [i, got])
    .filter(([i, got]) => Number.isFinite(joinedAt[i]) && got < opts.messages);
  const unheard = Array.from(perMessage).map((got, k) => [k, got]).filter(([, got]) => got < joined);

  const result = {
    mode: opts.mode,
    url: opts.url.join(","),
    workers: opts.url.length,
    clients: n,
    signin_s: round(signinSeconds),
    gathering: opened,
    joined,
    connect_failures: failures.connect,
    join_failures: failures.join,
    failure_examples: failures.examples,
    all_connected_s: round((lastConnect - t0) / 1000, 3),
    all_joined_s: round((lastJoin - t0) / 1000, 3),
    join_p50_s: round(percentile(joinTimes, 0.5) / 1000, 3),
    server_cpu_storm_s: round(cpuStorm, 3),
    messages: opts.messages,
    rate: opts.rate,
    acks_ok: acks.ok,
    ack_failures: acks.refused,
    ack_examples: acks.examples,
    deliveries: delivered,
    expected,
    deliveries_unjoined: unjoinedDeliveries,
    // when something was missed: [client, messages it got] and [message, clients it reached]
    clients_short: short.length,
    clients_short_examples: short.slice(0, 10),
    messages_short: unheard.length,
    messages_short_examples: unheard.slice(0, 10),
    fanout_p50_ms: round(percentile(latencies, 0.5), 1),
    fanout_p99_ms: round(percentile(latencies, 0.99), 1),
    fanout_max_ms: round(latencies[latencies.length - 1], 1),
    fanout_local_p50_ms: round(percentile(local, 0.5), 1),
    fanout_local_p99_ms: round(percentile(local, 0.99), 1),
    fanout_remote_p50_ms: round(percentile(remote, 0.5), 1),
    fanout_remote_p99_ms: round(percentile(remote, 0.99), 1),
    deliveries_local: local.length,
    deliveries_remote: remote.length,
    server_cpu_chat_s: round(cpuChat, 3),
    cpu_per_delivery_us: round((cpuChat * 1e6) / Math.max(1, delivered), 1),
    rss_idle_mib: round(rssIdle, 1),
    rss_joined_mib: round(rssJoined, 1),
    rss_after_chat_mib: round(rssAfter, 1),
    mib_per_1000: round(((rssJoined - rssIdle) * 1000) / Math.max(1, joined), 1),
  };
  for (const socket of [...sockets, sender]) socket.disconnect();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await sleep(200);
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`clients.js: ${error.stack || error}\n`);
  process.exit(1);
});
