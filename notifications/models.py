"""Notifications and the contact requests that cause some of them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    class Type(models.TextChoices):
        ADDED_YOU = "added_you"
        ACCEPTED_YOU = "accepted_you"
        COMMENTED = "commented"
        LIKED = "liked"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    type = models.CharField(max_length=32, choices=Type.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE, null=True, blank=True)
    seen = models.BooleanField(default=False)
    time = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notif_recipient_recent"),
            models.Index(fields=["recipient", "seen", "-id"], name="notif_recipient_unseen"),
        ]

    def __str__(self) -> str:
        return f"{self.type} for {self.recipient_id}"


class Contact(models.Model):
    """A contact request from one user to another, accepted or not yet."""

    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contacts_sent"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contacts_received"
    )
    accepted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["from_user", "to_user"], name="notif_contact_unique"),
            models.CheckConstraint(
                condition=~models.Q(from_user=models.F("to_user")), name="notif_contact_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_user_id} -> {self.to_user_id}"
