"""gleepost.params: one serializer instance per class validates every request, in every thread.

gunicorn's gthread workers (deploy/gunicorn.conf.py) and daphne's thread pool run views side
by side, so the shared instance must keep nothing of one validation for the next.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from conversations.serializers import ConversationSerializer, MessagePageSerializer
from gleepost.errors import ApiError
from gleepost.params import Validator, checked

THREADS = 8
ROUNDS = 200

# Valid and invalid inputs of two serializers, each with a result of its own.
CASES: list[tuple[Validator, Mapping[str, Any]]] = [
    *((MessagePageSerializer, {"start": str(n), "count": str(1 + n % 20)}) for n in range(20)),
    *((MessagePageSerializer, {"after": str(n + 1), "before": str(n + 50)}) for n in range(20)),
    (MessagePageSerializer, {"count": "0"}),
    (MessagePageSerializer, {"start": "-1"}),
    (MessagePageSerializer, {"after": "x"}),
    *((ConversationSerializer, {"participants": f"{n + 2},{n + 3}"}) for n in range(20)),
    (ConversationSerializer, {"participants": "1", "live": "true"}),
    (ConversationSerializer, {}),
    (ConversationSerializer, {"participants": "a,b"}),
]


def outcome(serializer_class: Validator, values: Mapping[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", checked(values, serializer_class)
    except ApiError as error:
        return "refused", str(error)


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """Threads handed the interpreter every microsecond: interleavings a busy server has."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("frequent_switches")
def test_threads_validating_at_once_each_get_their_own_result() -> None:
    expected = [outcome(cls, values) for cls, values in CASES]
    assert {kind for kind, _ in expected} == {"ok", "refused"}
    assert len({repr(result) for result in expected}) == len(CASES)  # each case tells apart

    def worker(offset: int) -> list[tuple[int, tuple[str, Any]]]:
        seen = []
        for round_ in range(ROUNDS):
            index = (offset + round_ * 7) % len(CASES)
            cls, values = CASES[index]
            seen.append((index, outcome(cls, values)))
        return seen

    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for batch in pool.map(worker, range(THREADS)) for r in batch]
    wrong = [(CASES[i][1], got) for i, got in results if got != expected[i]]
    assert wrong == [], wrong[:5]
