"""Recording stream events with their positions, and reading them back for replay.

See ``realtime.models`` for the ordering guarantee; ``docs/websocket-protocol.md`` for the
client's side of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from gleepost.conf import gp_settings
from gleepost.extensions import django as orm
from realtime.events import Event
from realtime.models import StreamEvent, UserStream, new_epoch

REPLAY_BATCH = 500


@dataclass(frozen=True)
class Positioned:
    """One user's copy of an event: its position on that user's stream and the text to send."""

    user_id: int
    seq: int
    epoch: str
    text: str


@dataclass(frozen=True)
class Position:
    seq: int
    epoch: str


def with_position(text: str, seq: int, epoch: str) -> str:
    """The event's JSON text with ``seq`` and ``epoch`` appended, without re-serializing it."""
    return f'{text[:-1]},"seq":{seq},"epoch":{json.dumps(epoch)}}}'


def record(event: Event, user_ids: Iterable[int]) -> list[Positioned]:
    """Store ``event`` on each user's stream with the next position; call inside the change's
    transaction. Counter rows are locked in ascending user id order, so that two writers that
    share users cannot deadlock.

    Two statements in SQL rather than five through the ORM: the video worker and every message
    send run this once per event, and the ORM's query building cost ten times the queries
    themselves (bench/results).
    """
    users = sorted(set(user_ids))
    if not users:
        return []
    # One transaction when called outside one, but no savepoint of its own when nested: a
    # caller that survives a failure here (the receivers' ``_guarded``) holds a savepoint
    # already, so the change commits without the event (docs/reliability.md); one that does
    # not lets the exception roll its change back anyway. A second savepoint on every
    # message sent cost two statements (bench/README.md).
    with transaction.atomic(savepoint=False):
        advanced = _advance(users)
        if len(advanced) < len(users):
            # First events of some users: create their streams, then advance those.
            have = {user_id for user_id, _, _ in advanced}
            missing = [uid for uid in users if uid not in have]
            _create_streams(missing)
            advanced = sorted(advanced + _advance(missing))
        positioned = [
            Positioned(user_id, seq, epoch, with_position(event.text, seq, epoch))
            for user_id, seq, epoch in advanced
        ]
        _insert_events(event.type, positioned)
    return positioned


def _advance(users: list[int]) -> list[tuple[int, int, str]]:
    """Add one to the counters of ``users`` (those that have a stream), locking their rows in
    ascending order until the transaction ends; their (user id, new seq, epoch), by user id."""
    streams = UserStream._meta.db_table
    placeholders = ", ".join(["%s"] * len(users))
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {streams} SET last_seq = last_seq + 1 WHERE user_id IN ("
            f"SELECT user_id FROM {streams} WHERE user_id IN ({placeholders})"
            f" ORDER BY user_id{lock}) RETURNING user_id, last_seq, epoch",
            users,
        )
        return sorted((int(u), int(seq), str(epoch)) for u, seq, epoch in cursor.fetchall())


# Rows per INSERT: far below the databases' limits on parameters (SQLite's 32,766).
INSERT_BATCH = 500


def _create_streams(users: list[int]) -> None:
    """Streams at seq 0, each with a new epoch, for ``users``; one that exists already (made
    meanwhile by a concurrent first event or first connection) is left as it is. In SQL
    written once: through ``bulk_create`` a user's first connection cost ~0.45 ms more."""
    streams = UserStream._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(users), INSERT_BATCH):
            batch = users[start : start + INSERT_BATCH]
            cursor.execute(
                f"INSERT INTO {streams} (user_id, last_seq, epoch) VALUES "
                + ", ".join(["(%s, 0, %s)"] * len(batch))
                + " ON CONFLICT (user_id) DO NOTHING",
                [v for user_id in batch for v in (user_id, new_epoch())],
            )


def _insert_events(event_type: str, positioned: list[Positioned]) -> None:
    # One INSERT of many rows rather than executemany: psycopg's pipeline of one statement
    # per row cost a third more CPU for a message to 10 participants (bench/README.md).
    table = StreamEvent._meta.db_table
    created_at = orm.database_datetime(timezone.now())
    with connection.cursor() as cursor:
        for start in range(0, len(positioned), INSERT_BATCH):
            batch = positioned[start : start + INSERT_BATCH]
            cursor.execute(
                f"INSERT INTO {table} (stream_id, seq, type, text, created_at) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s)"] * len(batch)),
                [v for p in batch for v in (p.user_id, p.seq, event_type, p.text, created_at)],
            )


def current_position(user_id: int) -> Position:
    """Where the user's stream is now (seq 0 and a new epoch for a user with no stream yet).

    In SQL written once: every websocket handshake reads it, and building the ORM's queries
    cost more than running them (bench/README.md, "Handshakes")."""
    streams = UserStream._meta.db_table
    select = f"SELECT last_seq, epoch FROM {streams} WHERE user_id = %s"
    with connection.cursor() as cursor:
        cursor.execute(select, [user_id])
        row = cursor.fetchone()
        if row is None:  # the user's first connection
            _create_streams([user_id])
            cursor.execute(select, [user_id])
            row = cursor.fetchone()
    return Position(int(row[0]), str(row[1]))


def can_resume(user_id: int, since: int, epoch: str) -> Position | None:
    """None when every event after ``since`` is retained under ``epoch``; else the current
    position, which the client must resync from."""
    position = current_position(user_id)
    if epoch != position.epoch or since > position.seq:
        return position
    if since == position.seq:
        return None
    oldest = StreamEvent.objects.filter(stream_id=user_id).aggregate(oldest=Min("seq"))["oldest"]
    if oldest is None or since < oldest - 1:
        return position
    return None


def events_after(user_id: int, since: int, up_to: int | None = None) -> list[tuple[int, str, str]]:
    """At most REPLAY_BATCH stored events with seq in (since, up_to], oldest first: (seq, type,
    text) each."""
    events = StreamEvent.objects.filter(stream_id=user_id, seq__gt=since)
    if up_to is not None:
        events = events.filter(seq__lte=up_to)
    return list(events.order_by("seq").values_list("seq", "type", "text")[:REPLAY_BATCH])


def prune() -> int:
    """Drop events past the retention age or beyond the newest N per user; returns how many."""
    cutoff = timezone.now() - timedelta(hours=gp_settings.EVENT_HISTORY_HOURS)
    deleted, _ = StreamEvent.objects.filter(created_at__lt=cutoff).delete()
    per_user = gp_settings.EVENT_HISTORY_PER_USER
    # Positions are contiguous per user, so "beyond the newest N" is a position bound.
    over, _ = StreamEvent.objects.filter(seq__lte=F("stream__last_seq") - per_user).delete()
    return deleted + over
