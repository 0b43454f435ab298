"""Scenario 3, end to end through REST: messages POSTed into conversations whose participants are
all connected; latency from the start of the request to the last participant's receipt.

The HTTP load comes from ``bench/loadgen/rest.mjs`` (open loop, a pool of keep-alive
connections); the receipts from the websocket load generator, which records each ``message``
event by its id (kind 3). Both use CLOCK_MONOTONIC, so one subtraction gives the latency.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.processes import ROOT, LoadGenerator, Process
from bench.scenarios import sweep_rates, wait_for_receipts
from bench.stats import percentile, read_records

KIND_MESSAGE = 3
# A step passes when every request succeeded, every participant got every message, and the
# last receipt's p99 is under this (the same limit as the other scenarios; the target
# for 10-person conversations at 100 messages/s is 50 ms, reported beside it).
P99_LIMIT_MS = 100.0
HTTP_POOL = 32
OTHER_CORES = {1}

# (conversation id, participant ids)
Conversation = tuple[int, list[int]]


@dataclass
class RestStep:
    size: int
    rate: float
    seconds: float
    requests: int
    created: int
    failed: dict[str, int]
    request_rate: float
    http_p50_ms: float
    http_p99_ms: float
    expected: int
    received: int
    lost: int
    unmatched: int
    # Request start to each receipt, and to the last participant's receipt of each message.
    any_p50_ms: float
    last_p50_ms: float
    last_p95_ms: float
    last_p99_ms: float
    last_max_ms: float
    cpu_percent: dict[str, float]

    @property
    def passed(self) -> bool:
        reached = self.created >= 0.95 * self.rate * self.seconds - 1
        return not self.failed and self.lost == 0 and self.last_p99_ms < P99_LIMIT_MS and reached

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def _post_messages(
    base_url: str,
    plans: list[dict[str, Any]],
    rate: float,
    duration: float,
    **fixed: str,
) -> tuple[list[dict[str, Any]], float]:
    """Runs the HTTP load generator; returns its per-request results and achieved rate.
    ``fixed`` (``path``, ``method``) sends every request to one place instead of ``plans``'."""
    config = Path(tempfile.mkstemp(prefix="gleepost-bench-rest-", suffix=".json")[1])
    out = config.with_suffix(".out.json")
    config.write_text(
        json.dumps(
            {
                "base_url": base_url,
                "rate": rate,
                "duration_secs": duration,
                "pool": HTTP_POOL,
                "plans": plans,
                **fixed,
            }
        )
    )
    try:
        finished = subprocess.run(
            ["node", "bench/loadgen/rest.mjs", str(config), str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=duration + 120,
            preexec_fn=lambda: os.sched_setaffinity(0, OTHER_CORES),
            check=False,
        )
        if finished.returncode != 0:
            raise RuntimeError(f"rest load generator failed: {finished.stderr[-2000:]}")
        summary = json.loads(finished.stdout.strip().splitlines()[-1])
        results: list[dict[str, Any]] = json.loads(out.read_text())
        return results, float(summary["rate"])
    finally:
        config.unlink(missing_ok=True)
        out.unlink(missing_ok=True)


def run_step(
    base_url: str,
    loadgen: LoadGenerator,
    watched: list[Process],
    conversations: list[Conversation],
    tokens: dict[int, str],
    rate: float,
    duration: float,
) -> RestStep:
    """POSTs at ``rate`` for ``duration`` seconds, senders taking turns among the participants."""
    participants = dict(conversations)
    senders = [(cid, users[turn % len(users)]) for turn in range(4) for cid, users in conversations]
    plans = [{"conversation": cid, "auth": f"{user}-{tokens[user]}"} for cid, user in senders]
    loadgen.command("reset")
    cpu_before = {p.name: p.cpu_seconds() for p in watched}
    started = time.monotonic()
    results, request_rate = _post_messages(base_url, plans, rate, duration)
    failed: dict[str, int] = {}
    start_of: dict[int, int] = {}
    recipients: dict[int, list[int]] = {}
    http_ms = []
    for result in results:
        if result["status"] == 201 and result["id"] >= 0:
            start_of[result["id"]] = int(result["start"])
            recipients[result["id"]] = participants[result["conversation"]]
            http_ms.append((int(result["end"]) - int(result["start"])) / 1e6)
        else:
            key = str(result.get("error") or result["status"])
            failed[key] = failed.get(key, 0) + 1
    expected = sum(len(users) for users in recipients.values())
    wait_for_receipts(loadgen, expected)
    wall = time.monotonic() - started
    cpu = {p.name: round(100 * (p.cpu_seconds() - cpu_before[p.name]) / wall, 1) for p in watched}

    receipts_path = Path(tempfile.mkstemp(prefix="gleepost-bench-receipts-")[1])
    loadgen.command(f"dump {receipts_path}")
    receipts = read_records(receipts_path)
    receipts_path.unlink()
    latencies, last, unmatched = _join(receipts, start_of, recipients)
    received = len(latencies)
    http_ms.sort()
    latencies.sort()
    last.sort()
    return RestStep(
        size=len(conversations[0][1]),
        rate=rate,
        seconds=duration,
        requests=len(results),
        created=len(start_of),
        failed=failed,
        request_rate=round(request_rate, 1),
        http_p50_ms=round(percentile(http_ms, 0.5), 2),
        http_p99_ms=round(percentile(http_ms, 0.99), 2),
        expected=expected,
        received=received,
        lost=expected - received,
        unmatched=unmatched,
        any_p50_ms=round(percentile(latencies, 0.5), 2),
        last_p50_ms=round(percentile(last, 0.5), 2),
        last_p95_ms=round(percentile(last, 0.95), 2),
        last_p99_ms=round(percentile(last, 0.99), 2),
        last_max_ms=round(last[-1], 2) if last else float("nan"),
        cpu_percent=cpu,
    )


def _join(
    receipts: list[tuple[int, int, int, int]],
    start_of: dict[int, int],
    recipients: dict[int, list[int]],
) -> tuple[list[float], list[float], int]:
    """Latency of each expected receipt, of each message's last receipt (messages every
    participant got), and the count of receipts nobody expected (duplicates, other steps')."""
    seen: dict[int, set[int]] = {}
    latest: dict[int, int] = {}
    latencies: list[float] = []
    unmatched = 0
    for kind, message_id, user, t in receipts:
        if kind != KIND_MESSAGE:
            continue
        got = seen.setdefault(message_id, set())
        if message_id not in start_of or user not in recipients[message_id] or user in got:
            unmatched += 1
            continue
        got.add(user)
        latencies.append((t - start_of[message_id]) / 1e6)
        latest[message_id] = max(latest.get(message_id, t), t)
    last = [
        (latest[m] - start_of[m]) / 1e6
        for m, users in recipients.items()
        if len(seen.get(m, ())) == len(users)
    ]
    return latencies, last, unmatched


def sweep(
    base_url: str,
    loadgen: LoadGenerator,
    watched: list[Process],
    conversations: list[Conversation],
    tokens: dict[int, str],
    rates: list[float],
    duration: float,
    log: Callable[[RestStep], None],
) -> tuple[list[RestStep], RestStep | None]:
    """``bench.scenarios.sweep_rates`` of REST steps."""

    def step_at(rate: float, seconds: float, what: str) -> RestStep:
        return run_step(base_url, loadgen, watched, conversations, tokens, rate, seconds)

    return sweep_rates(step_at, rates, duration, log)


def cpu_per_request(
    label: str,
    base_url: str,
    server: Process,
    rate: float,
    duration: float,
    plans: list[dict[str, Any]] | None = None,
    also: Sequence[Process] = (),
    **fixed: str,
) -> dict[str, Any]:
    """The server's CPU time per request at a rate it keeps up with: what one request costs,
    whatever else the machine runs (the floor rows of the end-to-end scenario). The CPU of the
    processes in ``also`` (a daphne delivering what a WSGI server's requests publish) is read
    over the same time and reported beside it, by name."""
    cpu_before = server.cpu_seconds()
    also_before = [each.cpu_seconds() for each in also]
    started = time.monotonic()
    results, request_rate = _post_messages(base_url, plans or [], rate, duration, **fixed)
    time.sleep(0.5)  # the deliveries a message causes are part of its cost
    cpu = server.cpu_seconds() - cpu_before
    also_cpu = [each.cpu_seconds() - before for each, before in zip(also, also_before, strict=True)]
    wall = time.monotonic() - started
    statuses: dict[str, int] = {}
    http_ms = []
    for result in results:
        key = str(result.get("error") or result["status"])
        statuses[key] = statuses.get(key, 0) + 1
        if result["end"]:
            http_ms.append((int(result["end"]) - int(result["start"])) / 1e6)
    http_ms.sort()
    return {
        "label": label,
        "rate": rate,
        "requests": len(results),
        "request_rate": round(request_rate, 1),
        "statuses": statuses,
        "http_p50_ms": round(percentile(http_ms, 0.5), 2),
        "http_p99_ms": round(percentile(http_ms, 0.99), 2),
        "server_cpu_percent": round(100 * cpu / wall, 1),
        "server_cpu_us_per_request": round(cpu / max(len(results), 1) * 1e6),
        "also_cpu_us_per_request": {
            each.name: round(spent / max(len(results), 1) * 1e6)
            for each, spent in zip(also, also_cpu, strict=True)
        },
    }
