"""Per-connection limits on client frames: at most N in any window; past MAX_FRAMES_PER_SEC a
frame is refused, told at most once a second, and a connection that keeps going is closed.
"""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from realtime.throttling import FrameRateLimit, SlidingWindowLimit, Verdict


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


ACT, REFUSE, TELL, CLOSE = Verdict.ACT, Verdict.REFUSE, Verdict.REFUSE_AND_TELL, Verdict.CLOSE


def frame_limit(clock: FakeClock) -> FrameRateLimit:
    return FrameRateLimit(20, max_refused=100, refused_window_secs=10.0, clock=clock)


def test_a_burst_gets_the_limit_then_one_answer_then_silence() -> None:
    limit = frame_limit(FakeClock())
    assert [limit.check() for _ in range(25)] == [ACT] * 20 + [TELL] + [REFUSE] * 4


def test_the_answer_comes_again_after_a_second_and_frames_after_the_window() -> None:
    clock = FakeClock()
    limit = frame_limit(clock)
    assert [limit.check() for _ in range(22)] == [ACT] * 20 + [TELL, REFUSE]
    clock.now = 0.999
    assert limit.check() is REFUSE
    clock.now = 1.0
    assert [limit.check() for _ in range(22)] == [ACT] * 20 + [TELL, REFUSE]


def test_the_101st_refused_frame_within_10_seconds_closes() -> None:
    limit = frame_limit(FakeClock())
    verdicts = [limit.check() for _ in range(20 + 101)]
    assert verdicts[:20] == [ACT] * 20
    assert verdicts[20:120].count(CLOSE) == 0
    assert verdicts[-1] is CLOSE


def test_twice_the_rate_is_closed_after_five_seconds() -> None:
    clock = FakeClock()
    limit = frame_limit(clock)
    verdicts = []
    while not verdicts or verdicts[-1] is not CLOSE:
        verdicts.append(limit.check())
        clock.now += 1 / 40
    assert 5.0 <= clock.now <= 5.5
    # The limit's worth every second, no more (the frame at 5.0 falls either side, by rounding).
    assert 20 * 5 <= verdicts.count(ACT) <= 20 * 5 + 1


def test_refusals_spread_thinner_than_the_abuse_rate_never_close() -> None:
    clock = FakeClock()
    limit = frame_limit(clock)
    # 29 frames a second for a minute: 9 refused a second, 90 in any 10 s.
    for _ in range(60 * 29):
        assert limit.check() is not CLOSE
        clock.now += 1 / 29


def test_a_well_behaved_connection_keeps_no_log_of_refusals() -> None:
    clock = FakeClock()
    limit = frame_limit(clock)
    for _ in range(1000):
        assert limit.check() is ACT
        clock.now += 0.06
    assert limit._refused is None


@given(gaps=st.lists(st.floats(min_value=0, max_value=0.2), max_size=400))
def test_answers_are_a_second_apart_and_frames_within_the_limit(gaps: list[float]) -> None:
    clock = FakeClock()
    limit = frame_limit(clock)
    acted, told = [], []
    for gap in gaps:
        clock.now += gap
        verdict = limit.check()
        if verdict is ACT:
            acted.append(clock.now)
        elif verdict is TELL:
            told.append(clock.now)
        elif verdict is CLOSE:
            break
    for i in range(len(acted) - 20):
        assert acted[i + 20] - acted[i] >= 1.0
    for earlier, later in pairwise(told):
        assert later - earlier >= 1.0
