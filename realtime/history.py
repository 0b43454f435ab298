"""Recording stream events with their positions, and reading them back for replay.

See ``realtime.models`` for the ordering guarantee; ``docs/websocket-protocol.md`` for the
client's side of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from gleepost.conf import gp_settings
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
    share users cannot deadlock."""
    users = sorted(set(user_ids))
    if not users:
        return []
    with transaction.atomic():
        streams = _locked_streams(users)
        if len(streams) < len(users):
            # First events of some users: create their streams, then lock all again in order.
            UserStream.objects.bulk_create(
                [UserStream(user_id=uid, epoch=new_epoch()) for uid in users],
                ignore_conflicts=True,
            )
            streams = _locked_streams(users)
        for stream in streams:
            stream.last_seq += 1
        UserStream.objects.bulk_update(streams, ["last_seq"])
        positioned = [
            Positioned(
                s.user_id, s.last_seq, s.epoch, with_position(event.text, s.last_seq, s.epoch)
            )
            for s in streams
        ]
        StreamEvent.objects.bulk_create(
            StreamEvent(stream_id=p.user_id, seq=p.seq, type=event.type, text=p.text)
            for p in positioned
        )
    return positioned


def _locked_streams(users: list[int]) -> list[UserStream]:
    return list(
        UserStream.objects.select_for_update().filter(user_id__in=users).order_by("user_id")
    )


def current_position(user_id: int) -> Position:
    """Where the user's stream is now (seq 0 and a new epoch for a user with no stream yet)."""
    stream = UserStream.objects.filter(user_id=user_id).first()
    if stream is None:
        stream, _ = UserStream.objects.get_or_create(user_id=user_id)
    return Position(stream.last_seq, stream.epoch)


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


def events_after(user_id: int, since: int, up_to: int | None = None) -> list[tuple[int, str]]:
    """At most REPLAY_BATCH stored events with seq in (since, up_to], oldest first."""
    events = StreamEvent.objects.filter(stream_id=user_id, seq__gt=since)
    if up_to is not None:
        events = events.filter(seq__lte=up_to)
    return list(events.order_by("seq").values_list("seq", "text")[:REPLAY_BATCH])


def prune() -> int:
    """Drop events past the retention age or beyond the newest N per user; returns how many."""
    cutoff = timezone.now() - timedelta(hours=gp_settings.EVENT_HISTORY_HOURS)
    deleted, _ = StreamEvent.objects.filter(created_at__lt=cutoff).delete()
    per_user = gp_settings.EVENT_HISTORY_PER_USER
    # Positions are contiguous per user, so "beyond the newest N" is a position bound.
    over, _ = StreamEvent.objects.filter(seq__lte=F("stream__last_seq") - per_user).delete()
    return deleted + over
