"""Joining send and receipt records into latencies and losses."""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

RECORD = struct.Struct("<iiiiq")


def read_records(path: Path) -> list[tuple[int, int, int, int]]:
    """(kind, a, b, t_ns) of each 24-byte record in ``path``."""
    return [(k, a, b, t) for k, a, b, _, t in RECORD.iter_unpack(path.read_bytes())]


def percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


@dataclass(frozen=True)
class Delivery:
    sent: int
    expected: int
    received: int
    lost: int
    unmatched: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    # Per event: when its first and its last copy arrived (median over events). Their gap is
    # the time one fan-out takes; a late first copy means the delay is before the fan-out.
    first_copy_p50_ms: float
    last_copy_p50_ms: float


def expected_receipts(sends: list[tuple[int, int, int, int]], copies: dict[int, int]) -> int:
    """How many receipts ``sends`` should produce: each ``copies[a]`` times."""
    return sum(copies.get(a, 0) for _, a, _, _ in sends)


def join(
    sends: list[tuple[int, int, int, int]],
    receipts: list[tuple[int, int, int, int]],
    copies: dict[int, int],
) -> Delivery:
    """Each send is expected ``copies[a]`` times (the connections of that user, or the
    subscribers of that post). A receipt of no known send (one that arrived after its step
    ended), or one beyond its copies (a duplicate), is counted as unmatched."""
    sent_at = {(k, a, b): t for k, a, b, t in sends}
    expected = expected_receipts(sends, copies)
    seen: Counter[tuple[int, int, int]] = Counter()
    latencies = []
    first: dict[tuple[int, int, int], float] = {}
    last: dict[tuple[int, int, int], float] = {}
    unmatched = 0
    for k, a, b, t in receipts:
        key = (k, a, b)
        start = sent_at.get(key)
        if start is None or seen[key] >= copies.get(a, 0):
            unmatched += 1
            continue
        seen[key] += 1
        latency = (t - start) / 1e6
        latencies.append(latency)
        first[key] = min(first.get(key, latency), latency)
        last[key] = max(last.get(key, latency), latency)
    latencies.sort()
    received = len(latencies)
    return Delivery(
        sent=len(sends),
        expected=expected,
        received=received,
        lost=expected - received,
        unmatched=unmatched,
        p50_ms=percentile(latencies, 0.50),
        p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99),
        max_ms=latencies[-1] if latencies else float("nan"),
        first_copy_p50_ms=percentile(sorted(first.values()), 0.5),
        last_copy_p50_ms=percentile(sorted(last.values()), 0.5),
    )
