"""Users and their login tokens."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone


class PresenceForm(models.TextChoices):
    """The kind of device a user last announced being present on (the ``presence`` action)."""

    DESKTOP = "desktop"
    MOBILE = "mobile"


# What ends every credential of a user when it changes (accounts.access.credentials_end).
_CREDENTIAL_FIELDS = ("is_active", "password")


class UserQuerySet(models.QuerySet["User"]):
    def update(self, **kwargs: Any) -> int:
        """``QuerySet.update``; deactivating users or writing their password hashes ends every
        credential they held (accounts.access), as ``save()`` does."""
        if not set(_CREDENTIAL_FIELDS) & kwargs.keys():
            return super().update(**kwargs)
        from accounts import access

        with transaction.atomic(using=self.db):
            before = {pk: state for pk, *state in self.values_list("pk", *_CREDENTIAL_FIELDS)}
            count = super().update(**kwargs)
            after = User.objects.filter(pk__in=before).values_list("pk", *_CREDENTIAL_FIELDS)
            for pk, *state in after:
                access.credentials_changed(pk, tuple(before[pk]), tuple(state), hash_written=True)
        return count


class AccountManager(UserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    """Django's ``UserManager`` whose querysets are ``UserQuerySet``s."""


class User(AbstractUser):
    """A Gleepost user. The public shape is ``{"id", "username", "profile_image"}``."""

    email = models.EmailField("email address", unique=True)
    profile_image = models.URLField(max_length=500, blank=True, default="")
    # The last presence the user announced; set only by accounts.actions.do_set_presence.
    presence_form = models.CharField(
        max_length=16, blank=True, default="", choices=PresenceForm.choices
    )
    presence_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[AccountManager] = AccountManager()

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.username

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saves; deactivating the user or disabling its password ends every credential it
        held (accounts.access). A password set with ``set_password`` is seen by Django's
        ``password_changed`` hook instead, and a hash upgraded at login by neither."""
        update_fields = kwargs.get("update_fields")
        watched = self.pk is not None and not self._state.adding
        if update_fields is not None and not set(_CREDENTIAL_FIELDS) & set(update_fields):
            watched = False
        if not watched:
            super().save(*args, **kwargs)
            return
        from accounts import access

        with transaction.atomic(using=kwargs.get("using")):
            before = User.objects.filter(pk=self.pk).values_list(*_CREDENTIAL_FIELDS).first()
            super().save(*args, **kwargs)
            if before is not None:
                after = (self.is_active, self.password)
                access.credentials_changed(self.pk, before, after, hash_written=False)


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
