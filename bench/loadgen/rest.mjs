// HTTP load for the end-to-end scenario: POST messages into conversations at a fixed rate
// (open loop: request i starts at i / rate whatever the earlier ones are doing, so a slow server
// shows as latency, not as a lower offered rate), over a pool of keep-alive connections.
//
//   node bench/loadgen/rest.mjs CONFIG.json OUT.json
//
// CONFIG.json: {"base_url": "http://127.0.0.1:8000", "rate": 100, "duration_secs": 5,
//               "pool": 32, "plans": [{"conversation": 7, "auth": "<id>-<token>"}, ...]}
// Request i goes to plans[i % plans.length]. With "path" (and "method", POST by default) every
// request goes there instead, with the same body: the floor measurements (bench/rest.py). OUT.json: one object per request, with its start
// and end on CLOCK_MONOTONIC (process.hrtime.bigint(), as the websocket load generator records
// receipts), its status and the created message's id; a last line on stdout summarises.

import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const outPath = process.argv[3];
const base = new URL(config.base_url);
const agent = new http.Agent({ keepAlive: true, maxSockets: config.pool ?? 32 });
const plans = config.plans;
const total = Math.round(config.rate * config.duration_secs);
const intervalNs = BigInt(Math.round(1e9 / config.rate));
const results = [];
let finished = 0;
const started = process.hrtime.bigint();

function post(index) {
  const plan = plans.length > 0 ? plans[index % plans.length] : {};
  const body = `text=${encodeURIComponent(`bench ${index}`)}`;
  const result = { conversation: plan.conversation, status: 0, id: -1, start: "", end: "" };
  results.push(result);
  const start = process.hrtime.bigint();
  result.start = start.toString();
  const request = http.request(
    {
      agent,
      host: base.hostname,
      port: base.port,
      method: config.method ?? "POST",
      path: config.path ?? `/api/v1/conversations/${plan.conversation}/messages`,
      headers: {
        ...(plan.auth ? { "X-GP-Auth": plan.auth } : {}),
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": Buffer.byteLength(body),
      },
    },
    (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => {
        result.end = process.hrtime.bigint().toString();
        result.status = response.statusCode;
        try {
          const id = JSON.parse(Buffer.concat(chunks).toString()).id;
          if (typeof id === "number") result.id = id;
        } catch {
          // A non-JSON answer keeps id -1; its status says what went wrong.
        }
        done();
      });
    },
  );
  request.on("error", (error) => {
    result.end = process.hrtime.bigint().toString();
    result.error = error.code ?? error.message;
    done();
  });
  request.end(body);
}

function done() {
  finished += 1;
  if (finished === total) {
    writeFileSync(outPath, JSON.stringify(results));
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(JSON.stringify({ requests: total, secs, rate: total / secs }));
    agent.destroy();
  }
}

// Start every request that is due, then sleep until the next one is: a timer per request would
// drift at hundreds per second.
let next = 0;
function tick() {
  const due = process.hrtime.bigint() - started;
  while (next < total && BigInt(next) * intervalNs <= due) {
    post(next);
    next += 1;
  }
  if (next < total) {
    const waitMs = Number(BigInt(next) * intervalNs - due) / 1e6;
    setTimeout(tick, Math.max(0, Math.floor(waitMs)));
  }
}

if (total === 0) {
  writeFileSync(outPath, "[]");
  console.log(JSON.stringify({ requests: 0, secs: 0, rate: 0 }));
} else {
  tick();
}
