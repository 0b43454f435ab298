"""Read-only questions about who is in which conversation, asked outside the REST views.

The websocket's ``typing`` action (may this user type here, and who hears it) and ``presence``
action (who shares a conversation with this user) ask them; nothing here changes state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from conversations.models import Participant


@dataclass(frozen=True)
class Participation:
    """One user's standing in one conversation, as read at one moment."""

    # An active participant: in it and not left. False too when there is no such conversation.
    participant: bool
    ended: bool
    expiry_time: datetime | None
    # The other active participants; empty unless ``participant``.
    others: tuple[int, ...]

    def is_open(self, now: datetime) -> bool:
        """Whether the conversation can still get messages (and typing) at ``now``."""
        return not self.ended and (self.expiry_time is None or self.expiry_time > now)


NOT_A_PARTICIPANT = Participation(participant=False, ended=False, expiry_time=None, others=())


def _open() -> Q:
    """Conversations that can still get messages (filtering Participant rows)."""
    return Q(conversation__ended=False) & (
        Q(conversation__expiry_time__isnull=True) | Q(conversation__expiry_time__gt=timezone.now())
    )


def participation(user_id: int, conversation_id: int) -> Participation:
    """Whether ``user_id`` takes part in the conversation, its state, and who else does,
    in one query."""
    rows = list(
        Participant.objects.active()
        .filter(conversation_id=conversation_id)
        .order_by("id")
        .values_list("user_id", "conversation__ended", "conversation__expiry_time")
    )
    users = [user for user, _, _ in rows]
    if user_id not in users:
        return NOT_A_PARTICIPANT
    _, ended, expiry_time = rows[0]
    return Participation(
        participant=True,
        ended=ended,
        expiry_time=expiry_time,
        others=tuple(u for u in users if u != user_id),
    )


def co_participant_ids(user_id: int) -> set[int]:
    """Everyone who shares a conversation that is still open with ``user_id``, not themselves."""
    mine = Participant.objects.active().filter(_open(), user_id=user_id).values("conversation_id")
    return set(
        Participant.objects.active()
        .filter(conversation_id__in=mine)
        .exclude(user_id=user_id)
        .values_list("user_id", flat=True)
    )


def shares_open_conversation(user_id: int, other_id: int) -> bool:
    """Whether both users are still in some conversation that is still open (one query)."""
    mine = Participant.objects.active().filter(_open(), user_id=user_id).values("conversation_id")
    return Participant.objects.active().filter(conversation_id__in=mine, user_id=other_id).exists()
