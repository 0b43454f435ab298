"""Conversations, their participants (with read markers) and messages."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Conversation(models.Model):
    """A chat. A live one has an ``expiry_time`` and ends then; a regular one never ends."""

    created_at = models.DateTimeField(default=timezone.now)
    last_activity = models.DateTimeField(default=timezone.now, db_index=True)
    expiry_time = models.DateTimeField(null=True, blank=True)
    ended = models.BooleanField(default=False)
    # A group conversation belongs to a network, whose members all its participants were when
    # they joined it; its messages carry ``"group": <network id>``.
    group = models.ForeignKey(
        "posts.Network",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
    )

    class Meta:
        indexes = [
            # The expiry job looks for live conversations past their time that are not ended.
            models.Index(
                fields=["expiry_time"],
                name="conv_live_open_expiry",
                condition=models.Q(ended=False, expiry_time__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"conversation {self.pk}"

    @property
    def is_live(self) -> bool:
        return self.expiry_time is not None

    @property
    def is_past_expiry(self) -> bool:
        return self.expiry_time is not None and self.expiry_time <= timezone.now()

    @property
    def has_ended(self) -> bool:
        """Ended, or live and past its expiry: what every read shows, whether or not the expiry
        job (``end_expired_conversations``) has ended it yet. Reads never end it themselves."""
        return self.ended or self.is_past_expiry


def active_participant(through: str = "") -> models.Q:
    """Who takes part in a conversation: a participant who has not left it.

    The one definition of the rule. Filters Participant rows, or, with ``through`` (a relation's
    lookup prefix such as ``"participants__"``), rows related to them; keep it in the same
    ``filter()`` as the relation's other conditions so they apply to one participant. The SQL
    in ``conversations/queries.py`` is compiled from it."""
    return models.Q(**{f"{through}left_at__isnull": True})


class ParticipantQuerySet(models.QuerySet["Participant"]):
    def active(self) -> ParticipantQuerySet:
        """The participants who have not left (``active_participant``)."""
        return self.filter(active_participant())


class Participant(models.Model):
    """A user's place in a conversation. ``left_at`` is set when they leave a regular one."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    # Id of the newest message this user has read; 0 when none. It never moves back.
    last_read = models.PositiveBigIntegerField(default=0)
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)

    objects = ParticipantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="conv_participant_unique")
        ]
        indexes = [models.Index(fields=["user", "left_at"], name="conv_participant_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"

    @property
    def is_active(self) -> bool:
        """``active_participant`` for a row already loaded (tests/conversations/test_models.py
        holds the two equal)."""
        return self.left_at is None


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    timestamp = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["conversation", "-id"], name="conv_message_recent")]

    def __str__(self) -> str:
        return f"message {self.pk} in {self.conversation_id}"
