"""Recording stream events: every user's copy stored with its position, or none of them."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from django.db import transaction

from accounts.models import User
from realtime import history
from realtime.events import read_event
from realtime.models import StreamEvent, UserStream
from realtime.receivers import _guarded
from tests.conftest import Member

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def users(make_member: Callable[..., Member]) -> list[int]:
    return [make_member(f"user{n}").id for n in range(5)]


def test_every_users_copy_is_stored_across_insert_batches(
    users: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "INSERT_BATCH", 2)
    history.record(read_event(1, users[0], 5), users[:2])  # two streams exist, three do not
    event = read_event(1, users[1], 6)
    positioned = history.record(event, reversed(users))
    epochs = dict(UserStream.objects.values_list("user_id", "epoch"))
    expected = {uid: 2 if uid in users[:2] else 1 for uid in users}
    assert [(p.user_id, p.seq) for p in positioned] == sorted(expected.items())
    stored = StreamEvent.objects.filter(text__contains='"last_read":6')
    assert sorted(stored.values_list("stream_id", "seq", "type", "text")) == [
        (uid, seq, "read", history.with_position(event.text, seq, epochs[uid]))
        for uid, seq in sorted(expected.items())
    ]


def test_a_failed_record_in_a_receivers_guard_leaves_the_change_to_commit(
    users: list[int], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    history.record(read_event(1, users[0], 5), users)

    def broken(event_type: str, positioned: list[history.Positioned]) -> None:
        raise RuntimeError("the insert failed after the counters moved")

    monkeypatch.setattr(history, "_insert_events", broken)
    with caplog.at_level(logging.ERROR, logger="realtime.receivers"), transaction.atomic():
        User.objects.filter(pk=users[0]).update(first_name="changed")
        _guarded(lambda: history.record(read_event(1, users[0], 6), users), "read")
        # The transaction is still usable after the failure.
        assert User.objects.get(pk=users[0]).first_name == "changed"
    assert "could not build the read event" in caplog.text
    assert User.objects.get(pk=users[0]).first_name == "changed"
    # The counters went back with the event: the next one takes position 2, no hole.
    assert set(UserStream.objects.values_list("last_seq", flat=True)) == {1}


def test_current_position_creates_a_users_stream_once_and_then_reads_it(
    users: list[int],
) -> None:
    first = history.current_position(users[0])
    assert first == history.Position(0, UserStream.objects.get(user_id=users[0]).epoch)
    history.record(read_event(1, users[1], 5), [users[0]])
    assert history.current_position(users[0]) == history.Position(1, first.epoch)
    assert UserStream.objects.filter(user_id=users[0]).count() == 1


def test_current_position_keeps_a_stream_created_by_a_concurrent_first_connection(
    users: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first connections of one user at once: the second INSERT finds the row and does
    nothing, and both read the same stream."""
    existing = UserStream.objects.create(user_id=users[0], last_seq=7)
    real_cursor = history.connection.cursor
    # The first SELECT misses (as it would have just before the other connection's INSERT).
    misses = iter([True])

    class MissOnce:
        def __init__(self) -> None:
            self.cursor = real_cursor()

        def __enter__(self) -> MissOnce:
            self.cursor.__enter__()
            return self

        def __exit__(self, *exc: object) -> None:
            self.cursor.__exit__(*exc)

        def execute(self, sql: str, params: list[object]) -> None:
            self.cursor.execute(sql, params)

        def fetchone(self) -> object:
            row = self.cursor.fetchone()
            return None if next(misses, False) else row

    monkeypatch.setattr(history.connection, "cursor", MissOnce)
    position = history.current_position(users[0])
    monkeypatch.undo()
    assert position == history.Position(7, existing.epoch)
    assert next(misses, None) is None  # the first SELECT did miss
    assert UserStream.objects.filter(user_id=users[0]).count() == 1
