"""Per-connection limits on client frames (issue 5, Limits): every frame, and on top of that the
frames that cause fan-out, ``typing`` and ``presence``.

A sliding window log rather than a token bucket: it keeps the times of the last ``limit``
frames forwarded and forwards another only when the oldest of them is at least ``window_secs``
old, so "at most 3 per second" holds for *every* one-second window. A token bucket of the same
rate lets up to twice its capacity through in a window that straddles a refill. The log costs
``limit`` floats per connection.

Typing and presence frames over their limit are dropped without an answer: they are ephemeral,
the next frame supersedes the last, and a client that floods would only get a flood of errors
back. Frames of every kind over ``FrameRateLimit`` are refused with an answer, but at most one a
second, and a connection that keeps sending them is closed (``Verdict``).
"""

from __future__ import annotations

import enum
import math
import time
from collections import deque
from collections.abc import Callable

# A connection over its frame limit is told so at most this often: each answer is traffic too.
TELL_INTERVAL_SECS = 1.0


class SlidingWindowLimit:
    """Allows at most ``limit`` calls to ``allow`` returning True in any ``window_secs``."""

    # Each connection has several of these: no per-instance dict, and the log (a deque takes
    # ~0.75 KiB whatever its length) only once a first frame comes; most connections never
    # send one (bench/README.md, "Memory per connection").
    __slots__ = ("_clock", "_forwarded", "limit", "window_secs")

    def __init__(
        self, limit: int, window_secs: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_secs = window_secs
        self._clock = clock
        self._forwarded: deque[float] | None = None

    def allow(self) -> bool:
        """True (and counted) if one more frame fits in the window ending now."""
        now = self._clock()
        forwarded = self._forwarded
        if forwarded is None:
            forwarded = self._forwarded = deque(maxlen=self.limit)
        if len(forwarded) == self.limit and now - forwarded[0] < self.window_secs:
            return False
        forwarded.append(now)
        return True


class Verdict(enum.Enum):
    """What to do with one client frame."""

    ACT = "act"  # within the limit
    REFUSE = "refuse"  # over it, and told less than a second ago: drop it without an answer
    REFUSE_AND_TELL = "refuse and tell"  # over it: drop it and answer "rate limited"
    CLOSE = "close"  # over it once too often: the connection ends (4008)


class FrameRateLimit:
    """Every client frame counts, well-formed or not: at most ``per_sec`` are acted on in any
    second; more than ``max_refused`` refused in any ``refused_window_secs`` ends the connection.

    Refused frames do not use up the window, so a client sending somewhat too fast still gets
    ``per_sec`` through, but it is closed once its excess reaches ``max_refused``: at twice the
    rate after 5 s (by default), when flooding within a fraction of a second. A well-behaved
    connection never allocates the log of refusals.
    """

    __slots__ = (
        "_clock",
        "_frames",
        "_max_refused",
        "_refused",
        "_refused_window_secs",
        "_tell_interval_secs",
        "_told_at",
    )

    def __init__(
        self,
        per_sec: int,
        max_refused: int,
        refused_window_secs: float,
        tell_interval_secs: float = TELL_INTERVAL_SECS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._frames = SlidingWindowLimit(per_sec, 1.0, clock)
        self._max_refused = max_refused
        self._refused_window_secs = refused_window_secs
        self._refused: SlidingWindowLimit | None = None
        self._tell_interval_secs = tell_interval_secs
        self._told_at = -math.inf
        self._clock = clock

    def check(self) -> Verdict:
        """The verdict on one more frame arriving now (and it is counted)."""
        if self._frames.allow():
            return Verdict.ACT
        if self._refused is None:
            self._refused = SlidingWindowLimit(
                self._max_refused, self._refused_window_secs, self._clock
            )
        if not self._refused.allow():
            return Verdict.CLOSE
        now = self._clock()
        if now - self._told_at < self._tell_interval_secs:
            return Verdict.REFUSE
        self._told_at = now
        return Verdict.REFUSE_AND_TELL
