"""Scenario steps and rate sweeps: publish at a rate, wait for the deliveries, measure."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from bench.processes import LoadGenerator, Process
from bench.stats import expected_receipts, join, read_records

if TYPE_CHECKING:
    from bench.population import Member

# A step passes when nothing is lost and p99 stays under this.
P99_LIMIT_MS = 100.0
# After the publisher stops, wait at most this long for the last deliveries.
DRAIN_SECS = 30.0
# ...or until nothing has arrived for this long. An overloaded server can pause longer than a
# second or two (a full collection over a large backlog), and a receipt counted after the
# window is counted lost: the window must be wide enough to tell late from lost.
QUIET_SECS = 5.0
OTHER_CORES = {1}


@dataclass
class Stack:
    """The servers under test and how a load-generator connection and the publisher reach them."""

    name: str  # "gleepost" or "reference"
    servers: list[Process]
    ports: list[int]
    env: dict[str, str] = field(default_factory=dict)
    redis_url: str = ""
    # Publisher flags for this stack (``--live-only``).
    publisher_args: tuple[str, ...] = ()
    # What the report calls it ("gleepost", "reference", "two daphnes").
    label: str = ""
    # How clients connect to this project's daphne: "websocket", or "sse" (Server-Sent Events).
    transport: str = "websocket"

    def url(self, index: int, user_id: int, token: str) -> str:
        port = self.ports[index % len(self.ports)]
        if self.name == "reference":
            return f"ws://127.0.0.1:{port}/ws?id={user_id}"
        if self.transport == "sse":
            return f"http://127.0.0.1:{port}/api/v1/events?id={user_id}&token={token}"
        return f"ws://127.0.0.1:{port}/api/v1/ws?id={user_id}&token={token}"

    def connection(self, index: int, member: Member) -> dict[str, Any]:
        """The load generator's entry for ``member``'s websocket, the ``index``-th client."""
        return {"url": self.url(index, member.user_id, member.token), "user": member.user_id}


@dataclass
class Step:
    stack: str
    scenario: str
    rate: float
    seconds: float
    sent: int
    publisher_rate: float
    delivered_per_sec: float
    expected: int
    received: int
    lost: int
    unmatched: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    first_copy_p50_ms: float
    last_copy_p50_ms: float
    closed: dict[str, int]
    cpu_percent: dict[str, float]
    server_rss_kib: int

    @property
    def passed(self) -> bool:
        # The publisher kept up (one event of slack, for low rates over short steps).
        reached = self.sent >= 0.95 * self.rate * self.seconds - 1
        return self.lost == 0 and self.p99_ms < P99_LIMIT_MS and reached

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def wait_for_receipts(loadgen: LoadGenerator, expected: int) -> None:
    """Until the load generator holds ``expected`` records, or none came for QUIET_SECS, or
    DRAIN_SECS passed."""
    deadline = time.monotonic() + DRAIN_SECS
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        records = int(loadgen.command("stats")["records"])
        if records >= expected:
            return
        if records != last:
            last, stable_since = records, time.monotonic()
        elif time.monotonic() - stable_since > QUIET_SECS:
            return  # nothing more is coming
        time.sleep(0.1)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_step(
    stack: Stack,
    scenario: str,
    loadgen: LoadGenerator,
    others: list[Process],
    target: str,
    ids: list[int],
    copies: dict[int, int],
    rate: float,
    duration: float,
    base: int,
) -> Step:
    loadgen.command("reset")
    watched = [*stack.servers, loadgen.process, *others]
    cpu_before = {p.name: p.cpu_seconds() for p in watched}
    children_before = _children_cpu()
    sends_path = Path(tempfile.mkstemp(prefix="gleepost-bench-sends-")[1])
    started = time.monotonic()
    publisher = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.publisher",
            f"--stack={stack.name}",
            f"--target={target}",
            f"--ids={','.join(map(str, ids))}",
            f"--rate={rate}",
            f"--duration={duration}",
            f"--out={sends_path}",
            f"--redis={stack.redis_url}",
            f"--base={base}",
            *stack.publisher_args,
        ],
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, OTHER_CORES),
        check=False,
    )
    if publisher.returncode != 0:
        raise RuntimeError(f"publisher failed: {publisher.stderr[-2000:]}")
    summary = json.loads(publisher.stdout.strip().splitlines()[-1])
    sends = read_records(sends_path)
    expected = expected_receipts(sends, copies)
    wait_for_receipts(loadgen, expected)
    wall = time.monotonic() - started
    cpu = {p.name: 100 * (p.cpu_seconds() - cpu_before[p.name]) / wall for p in watched}
    cpu["publisher"] = 100 * (_children_cpu() - children_before) / wall
    receipts_path = Path(tempfile.mkstemp(prefix="gleepost-bench-receipts-")[1])
    loadgen.command(f"dump {receipts_path}")
    stats = loadgen.command("stats")
    delivery = join(sends, read_records(receipts_path), copies)
    sends_path.unlink()
    receipts_path.unlink()
    return Step(
        stack=stack.label or stack.name,
        scenario=scenario,
        rate=rate,
        seconds=duration,
        sent=delivery.sent,
        publisher_rate=round(summary["rate"], 1),
        delivered_per_sec=round(delivery.received / duration, 1),
        expected=delivery.expected,
        received=delivery.received,
        lost=delivery.lost,
        unmatched=delivery.unmatched,
        p50_ms=round(delivery.p50_ms, 2),
        p95_ms=round(delivery.p95_ms, 2),
        p99_ms=round(delivery.p99_ms, 2),
        max_ms=round(delivery.max_ms, 2),
        first_copy_p50_ms=round(delivery.first_copy_p50_ms, 2),
        last_copy_p50_ms=round(delivery.last_copy_p50_ms, 2),
        closed=stats.get("closed", {}),
        cpu_percent={name: round(value, 1) for name, value in cpu.items()},
        server_rss_kib=sum(p.rss_kib() for p in stack.servers),
    )


class SweepStep(Protocol):
    rate: float

    @property
    def passed(self) -> bool: ...


StepT = TypeVar("StepT", bound=SweepStep)
# Runs one step: (rate, seconds, what) with what "warm-up", "step N" or "overload".
StepAt = Callable[[float, float, str], StepT]


def sweep_rates(
    step_at: StepAt[StepT], rates: list[float], duration: float, log: Callable[[StepT], None]
) -> tuple[list[StepT], StepT | None]:
    """A short unreported warm-up, then steps at rising rates until two in a row fail (one
    noisy step, a garbage collection say, does not end the sweep); then one step at twice the
    best rate (overload). Returns every reported step and the best passing one."""
    step_at(rates[0], 2.0, "warm-up")
    steps: list[StepT] = []
    best: StepT | None = None
    failed_in_a_row = 0
    for number, rate in enumerate(rates):
        step = step_at(rate, duration, f"step {number}")
        steps.append(step)
        log(step)
        if step.passed:
            best, failed_in_a_row = step, 0
        else:
            failed_in_a_row += 1
            if failed_in_a_row == 2:
                break
    if best is not None:
        overload = step_at(2 * best.rate, duration, "overload")
        steps.append(overload)
        log(overload)
    return steps, best


def sweep(
    stack: Stack,
    scenario: str,
    loadgen: LoadGenerator,
    others: list[Process],
    target: str,
    ids: list[int],
    copies: dict[int, int],
    rates: list[float],
    duration: float,
    log: Callable[[Step], None],
) -> tuple[list[Step], Step | None]:
    """``sweep_rates`` of publisher steps. Each step's events get numbers of their own (a
    block of 10**7 per step), so that a late receipt of one step never matches another's."""
    blocks = {"warm-up": 99, "overload": len(rates)}

    def step_at(rate: float, seconds: float, what: str) -> Step:
        block = blocks.get(what) or int(what.removeprefix("step "))
        name = f"{scenario} (2x best)" if what == "overload" else scenario
        return run_step(
            stack, name, loadgen, others, target, ids, copies, rate, seconds, block * 10**7
        )

    return sweep_rates(step_at, rates, duration, log)
