"""The durable history of each user's event stream (an outbox), for resuming without loss.

Every event on a user's stream is stored here in the same transaction as the change that caused
it, with a position (``seq``) from that user's counter row. The counter row stays locked until the
transaction ends, so a user's positions commit strictly in order: nobody can see position N+1
while N is still uncommitted (the out-of-order commit hazard of a shared sequence cannot occur).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_epoch() -> str:
    """A fresh epoch: a stream whose history was lost starts a new one, and clients resync."""
    return secrets.token_hex(4)


class UserStream(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="event_stream",
    )
    last_seq = models.PositiveBigIntegerField(default=0)
    epoch = models.CharField(max_length=16, default=new_epoch)

    def __str__(self) -> str:
        return f"stream of {self.user_id} at {self.last_seq} ({self.epoch})"


class StreamEvent(models.Model):
    stream = models.ForeignKey(UserStream, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=32)
    # The event exactly as the client receives it, seq and epoch included.
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream", "seq"], name="realtime_stream_event_seq")
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.seq} of {self.stream_id}"
