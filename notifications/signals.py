"""Domain signals of the notifications app. Receivers live in other apps (e.g. ``realtime``).

The signal carries one frozen dataclass, defined beside it and named for the fact. It is sent by
``notifications.actions`` inside the action's transaction, which may still roll back: receivers
that talk to the outside world must defer with ``transaction.on_commit``. The sender is the
model class.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.dispatch import Signal

from notifications.models import Notification


@dataclass(frozen=True)
class NotificationCreated:
    """A notification was created for its recipient (never for the actor themselves)."""

    notification: Notification


# Sent with created=NotificationCreated(...) by do_notify, for every type of notification.
notification_created = Signal()
