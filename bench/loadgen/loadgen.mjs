// Websocket load generator for the benchmark: many connections from one process, each event's
// receipt time recorded cheaply, so that a Python orchestrator can compute delivery latency.
// A connection whose URL is http:// is a Server-Sent Events stream instead (GET
// /api/v1/events): each "data:" line is recorded as a websocket message would be.
//
//   node bench/loadgen/loadgen.mjs CONFIG.json
//
// CONFIG.json: {"connections": [{"url": "ws://...", "user": 3, "frames": ["..."],
//                                "await_reply": true}, ...],
//               "connect_concurrency": 200, "handshake_timeout_secs": 60}
//
// stdout carries JSON lines only: first {"ready": true, ...} once every connection is ready or
// has failed, then exactly one answer per command read from stdin (stats, dump PATH, reset,
// send TEXT, quit; the end of stdin counts as quit, so keep it open). "reset" zeroes the records,
// "received" and "by_type"; "closed" counts the whole run.
//
// Receipt times come from process.hrtime.bigint(), which reads CLOCK_MONOTONIC on Linux (libuv's
// uv_hrtime): the same clock as Python's time.monotonic_ns(), so the orchestrator can subtract a
// publish time taken in Python from a receipt time taken here.

import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { createInterface } from "node:readline";
import WebSocket from "ws";

const KIND_USER_EVENT = 1; // a message with a numeric top-level "seq": a = user, b = seq
const KIND_VIEWS = 2; // a "views" message: a = post id from "location", b = data.views
const KIND_MESSAGE = 3; // a chat "message": a = data.id (the message's id), b = user
const RECORD_BYTES = 24; // int32 kind, int32 a, int32 b, int32 padding, int64 t_ns (LE)

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const specs = config.connections ?? [];
const concurrency = Math.max(1, config.connect_concurrency ?? 200);
// A handshake the server never answers fails after this long instead of stalling the ready line.
const handshakeTimeoutMs = (config.handshake_timeout_secs ?? 60) * 1000;

// ---- Records: struct-of-arrays, grown by doubling, so a message costs no allocation of ours.

let capacity = 1 << 16;
let count = 0;
let kinds = new Int32Array(capacity);
let as = new Int32Array(capacity);
let bs = new Int32Array(capacity);
let times = new BigInt64Array(capacity);

function grow() {
  capacity *= 2;
  const grown = (Type, old) => {
    const array = new Type(capacity);
    array.set(old);
    return array;
  };
  kinds = grown(Int32Array, kinds);
  as = grown(Int32Array, as);
  bs = grown(Int32Array, bs);
  times = grown(BigInt64Array, times);
}

function record(kind, a, b, t) {
  if (count === capacity) grow();
  kinds[count] = kind;
  as[count] = a;
  bs[count] = b;
  times[count] = t;
  count += 1;
}

function dump(path) {
  const buffer = Buffer.alloc(count * RECORD_BYTES);
  for (let i = 0, offset = 0; i < count; i += 1, offset += RECORD_BYTES) {
    buffer.writeInt32LE(kinds[i], offset);
    buffer.writeInt32LE(as[i], offset + 4);
    buffer.writeInt32LE(bs[i], offset + 8);
    // offset + 12: padding, already zero
    buffer.writeBigInt64LE(times[i], offset + 16);
  }
  writeFileSync(path, buffer);
  return count;
}

// ---- Counters.

let received = 0;
const byType = new Map(); // message type -> count, since the last reset
const closed = new Map(); // close code -> count, over the whole run
const failures = new Map(); // failure reason -> count, over the connect phase
let openNow = 0;

function bump(map, key) {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function onMessage(user, data, isBinary) {
  const t = process.hrtime.bigint();
  received += 1;
  if (isBinary) {
    bump(byType, "(binary)");
    return;
  }
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    bump(byType, "(unparsable)");
    return;
  }
  if (message === null || typeof message !== "object") {
    bump(byType, "(unparsable)");
    return;
  }
  const type = message.type;
  bump(byType, typeof type === "string" ? type : "(no type)");
  if (type === "message" && typeof message.data?.id === "number") {
    // Keyed by message id: the end-to-end scenario knows ids from its POSTs' answers, not seqs.
    record(KIND_MESSAGE, message.data.id, user, t);
  } else if (typeof message.seq === "number") {
    record(KIND_USER_EVENT, user, message.seq, t);
  } else if (type === "views") {
    const location = message.location;
    const post =
      typeof location === "string" && location.startsWith("/posts/")
        ? Number.parseInt(location.slice(7), 10)
        : -1;
    const views = message.data?.views;
    record(KIND_VIEWS, post, typeof views === "number" ? views : -1, t);
  }
}

// ---- Connecting: at most `concurrency` handshakes in flight, failures counted, not retried.

const sockets = new Array(specs.length).fill(null);
let next = 0;
let inFlight = 0;
let ready = 0;
let failed = 0;
let readyReported = false;
const started = process.hrtime.bigint();

function emit(object) {
  // Writes to a pipe are synchronous on Linux, so lines never interleave or get lost on exit.
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

function settle(outcome, reason) {
  if (outcome === "ready") ready += 1;
  else {
    failed += 1;
    bump(failures, reason);
  }
  if (!readyReported && ready + failed === specs.length) {
    readyReported = true;
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    emit({
      ready: true,
      open: ready,
      failed,
      failures: Object.fromEntries(failures),
      connect_secs: secs,
    });
    setImmediate(releaseHeld);
  }
}

// A Server-Sent Events stream, as sockets[] holds it: readyState as a websocket's, close().
class EventStream {
  constructor(request) {
    this.request = request;
    this.readyState = WebSocket.CONNECTING;
    this.onClosed = [];
  }

  once(event, listener) {
    if (event === "close") this.onClosed.push(listener);
  }

  ended() {
    if (this.readyState === WebSocket.CLOSED) return false;
    this.readyState = WebSocket.CLOSED;
    for (const listener of this.onClosed.splice(0)) listener();
    return true;
  }

  close() {
    this.request.destroy();
    this.ended();
  }

  terminate() {
    this.close();
  }

  send() {
    // A stream takes no frames: its subscriptions are in its URL.
  }
}

function connectStream(index, spec, handshakeDone) {
  const user = spec.user ?? -1;
  let state = "connecting"; // -> "ready" | "failed"
  const request = http.get(spec.url, {
    agent: false,
    headers: { Accept: "text/event-stream" },
    timeout: handshakeTimeoutMs,
  });
  const stream = new EventStream(request);
  sockets[index] = stream;
  const fail = (reason) => {
    if (state !== "connecting") return;
    state = "failed";
    stream.ended();
    handshakeDone();
    settle("failed", reason);
  };
  request.on("timeout", () => {
    if (state === "connecting") {
      fail("timeout");
      request.destroy();
    }
  });
  request.on("error", (error) => fail(error.code ?? error.message));
  request.on("response", (response) => {
    if (response.statusCode !== 200) {
      fail(`HTTP ${response.statusCode}`);
      response.resume();
      return;
    }
    request.setTimeout(0); // a stream stays quiet between heartbeats
    state = "ready";
    stream.readyState = WebSocket.OPEN;
    openNow += 1;
    handshakeDone();
    settle("ready");
    response.setEncoding("utf8");
    let buffer = "";
    response.on("data", (chunk) => {
      buffer += chunk;
      let end = buffer.indexOf("\n\n");
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const at = block.indexOf("data: ");
        if (at !== -1) {
          const stop = block.indexOf("\n", at);
          onMessage(user, block.slice(at + 6, stop === -1 ? undefined : stop), false);
        }
        end = buffer.indexOf("\n\n");
      }
    });
    const onEnd = () => {
      if (stream.ended()) {
        openNow -= 1;
        bump(closed, "end");
      }
    };
    response.on("end", onEnd);
    response.on("close", onEnd);
  });
}

function connect(index) {
  const spec = specs[index];
  if (spec.url.startsWith("http")) {
    connectStream(index, spec, () => {
      inFlight -= 1;
      startMore();
    });
    return;
  }
  const user = spec.user ?? -1;
  const frames = spec.frames ?? [];
  const awaitReply = Boolean(spec.await_reply);
  let state = "connecting"; // -> "waiting" (for the reply) -> "ready" | "failed"
  const handshakeDone = () => {
    inFlight -= 1;
    startMore();
  };
  let ws;
  try {
    ws = new WebSocket(spec.url, {
      perMessageDeflate: false,
      skipUTF8Validation: true, // the text is only JSON.parsed; a bad frame shows as unparsable
      handshakeTimeout: handshakeTimeoutMs,
    });
  } catch (error) {
    // An invalid URL throws here rather than emitting "error".
    state = "failed";
    handshakeDone();
    settle("failed", error.message);
    return;
  }
  sockets[index] = ws;
  ws.on("open", () => {
    openNow += 1;
    handshakeDone();
    for (const frame of frames) ws.send(frame);
    if (awaitReply) state = "waiting";
    else {
      state = "ready";
      settle("ready");
    }
  });
  ws.on("message", (data, isBinary) => {
    onMessage(user, data, isBinary);
    if (state === "waiting") {
      state = "ready";
      settle("ready");
    }
  });
  ws.on("error", (error) => {
    // Before "open": a failed handshake ("Unexpected server response: 403", ECONNREFUSED, ...).
    // After it: the socket broke; "close" (code 1006) follows and is what we count.
    if (state === "connecting") {
      state = "failed";
      handshakeDone();
      settle("failed", error.code ?? error.message);
    }
  });
  ws.on("close", (code) => {
    if (state === "connecting") {
      // Closed without an "error" before opening: still a failed handshake.
      state = "failed";
      handshakeDone();
      settle("failed", `closed ${code} before open`);
      return;
    }
    if (state === "failed") return;
    openNow -= 1;
    bump(closed, String(code));
    if (state === "waiting") {
      state = "failed";
      settle("failed", `closed ${code} before reply`);
    }
  });
}

function startMore() {
  while (inFlight < concurrency && next < specs.length) {
    inFlight += 1;
    next += 1;
    connect(next - 1);
  }
}

if (specs.length === 0) {
  readyReported = true;
  emit({ ready: true, open: 0, failed: 0, failures: {}, connect_secs: 0 });
} else {
  startMore();
}

// ---- Commands on stdin, one JSON answer line each.

function openSockets() {
  return sockets.filter((ws) => ws !== null && ws.readyState === WebSocket.OPEN);
}

let quitting = false;

function quit() {
  if (quitting) return;
  quitting = true;
  const closing = sockets.filter(
    (ws) => ws !== null && ws.readyState !== WebSocket.CLOSED,
  );
  let remaining = closing.length;
  const finish = () => {
    emit({ quit: true });
    process.exit(0);
  };
  if (remaining === 0) finish();
  // Wait for the closing handshakes so the server sees 1000, not a reset; give up after 5 s.
  const timer = setTimeout(() => {
    for (const ws of closing) ws.terminate();
    finish();
  }, 5000);
  for (const ws of closing) {
    ws.once("close", () => {
      remaining -= 1;
      if (remaining === 0) {
        clearTimeout(timer);
        finish();
      }
    });
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000);
  }
}

// Commands read before the ready line are held until it is printed, so that it always comes
// first; only "quit" (or the end of stdin) acts at once.
const held = [];

function releaseHeld() {
  for (const line of held.splice(0)) execute(line);
}

const commands = createInterface({ input: process.stdin, crlfDelay: Infinity });
commands.on("line", (line) => {
  if (readyReported || line.trim() === "quit") execute(line);
  else held.push(line);
});

function execute(line) {
  const space = line.indexOf(" ");
  const command = space === -1 ? line.trim() : line.slice(0, space);
  const argument = space === -1 ? "" : line.slice(space + 1);
  try {
    switch (command) {
      case "stats":
        emit({
          received,
          by_type: Object.fromEntries(byType),
          records: count,
          closed: Object.fromEntries(closed),
          open: openNow,
        });
        break;
      case "dump":
        emit({ dumped: dump(argument) });
        break;
      case "reset":
        // Records, the received total and per-type counts start again; connections stay.
        count = 0;
        received = 0;
        byType.clear();
        emit({ reset: true });
        break;
      case "send": {
        const targets = openSockets();
        for (const ws of targets) ws.send(argument);
        emit({ sent: targets.length });
        break;
      }
      case "quit":
        quit();
        break;
      case "":
        break;
      default:
        emit({ error: `unknown command ${JSON.stringify(command)}` });
    }
  } catch (error) {
    emit({ error: String(error?.message ?? error) });
  }
}
// The orchestrator went away: leave as if told to quit.
commands.on("close", quit);
