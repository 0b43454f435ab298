"""The per-connection limit on typing and presence frames: at most N in any window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from realtime.throttling import SlidingWindowLimit


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_gets_the_limit_then_nothing_until_the_window_passes() -> None:
    clock = FakeClock()
    limit = SlidingWindowLimit(3, 1.0, clock)
    assert [limit.allow() for _ in range(10)] == [True] * 3 + [False] * 7
    clock.now = 0.999
    assert not limit.allow()
    clock.now = 1.0
    assert [limit.allow() for _ in range(4)] == [True] * 3 + [False]


def test_dropped_frames_do_not_use_up_the_window() -> None:
    clock = FakeClock()
    limit = SlidingWindowLimit(3, 1.0, clock)
    for t in (0.0, 0.1, 0.2):
        clock.now = t
        assert limit.allow()
    clock.now = 0.5
    assert not limit.allow()
    clock.now = 1.05
    assert limit.allow()  # only the forwarded frame at 0.0 has left the window


@given(gaps=st.lists(st.floats(min_value=0, max_value=0.7), max_size=200))
def test_no_window_ever_holds_more_than_the_limit(gaps: list[float]) -> None:
    clock = FakeClock()
    limit = SlidingWindowLimit(3, 1.0, clock)
    forwarded = []
    for gap in gaps:
        clock.now += gap
        if limit.allow():
            forwarded.append(clock.now)
    for i in range(len(forwarded) - 3):
        assert forwarded[i + 3] - forwarded[i] >= 1.0
