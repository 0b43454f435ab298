"""Users and their login tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class PresenceForm(models.TextChoices):
    """The kind of device a user last announced being present on (the ``presence`` action)."""

    DESKTOP = "desktop"
    MOBILE = "mobile"


class User(AbstractUser):
    """A Gleepost user. The public shape is ``{"id", "username", "profile_image"}``."""

    email = models.EmailField("email address", unique=True)
    profile_image = models.URLField(max_length=500, blank=True, default="")
    # The last presence the user announced; set only by accounts.actions.do_set_presence.
    presence_form = models.CharField(
        max_length=16, blank=True, default="", choices=PresenceForm.choices
    )
    presence_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.username


class AuthTokenQuerySet(models.QuerySet["AuthToken"]):
    def valid(self) -> AuthTokenQuerySet:
        return self.filter(expires_at__gt=timezone.now())


class AuthToken(models.Model):
    """A login token. Only its SHA-256 is stored: a database leak does not leak sessions."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_tokens")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(db_index=True)

    objects = AuthTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "auth token"

    def __str__(self) -> str:
        return f"token {self.pk} of {self.user_id}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()
