"""Every way a credential stops being valid, announced once as ``credentials_revoked``.

Hooked where every path passes, not in the views that usually cause it (issue 12):

- a token deleted: logout, the admin's revoke action and its delete, a password change, the
  user's deletion cascading. Django's ``post_delete`` of ``AuthToken``; a queryset delete sends
  it for each row too, because a receiver is connected (Django does not fast-delete then).
- a Django session deleted: logout through Django (``session.flush()``), a new login cycling
  the key, ``clearsessions``, a session the auth hash no longer verifies. ``post_delete`` of
  ``Session`` (the ``db`` and ``cached_db`` engines store one row per session).
- a password set: the admin's password forms, ``manage.py changepassword``, ``set_password()``
  then ``save()`` in a shell, ``do_set_password``. ``AbstractBaseUser.save()`` tells each
  password validator's ``password_changed`` (Django's documented hook, not called for a hash
  upgraded at login); ``RevokeOnPasswordChange`` is one, and a system check refuses to run
  without it.
- a password disabled (``set_unusable_password``, the admin's "usable password" switch), the
  account deactivated (``is_active`` cleared), a password hash written directly: ``User.save()``
  and ``User.objects.….update()`` (``UserQuerySet.update``) compare before and after.
- the account deleted: ``post_delete`` of ``User``.

A password changed or disabled also deletes every token of the user, so REST refuses them at
once. Writes that bypass the ORM (raw SQL) are not seen; a credential that merely expires is
ended by the connection itself at its expiry (realtime.access).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import is_password_usable
from django.contrib.sessions.models import Session
from django.core import checks
from django.db.models.signals import post_delete

from accounts.models import AuthToken, User
from accounts.signals import CredentialsRevoked, credentials_revoked

VALIDATOR_PATH = "accounts.access.RevokeOnPasswordChange"


def revoke_every_credential(user_id: int) -> None:
    """A password replaced: delete every token of ``user_id``, and announce that nothing it
    held stays valid."""
    AuthToken.objects.filter(user_id=user_id).delete()
    announce_every_credential_ended(user_id)


def announce_every_credential_ended(user_id: int) -> None:
    """Nothing ``user_id`` held is valid now. Its tokens stay (for a deactivated account:
    refused while it is inactive, valid again if it is reactivated, as Django's sessions)."""
    credentials_revoked.send(
        sender=User, revoked=CredentialsRevoked(user_id=user_id, every_credential=True)
    )


def credentials_changed(
    user_id: int, before: tuple[bool, str], after: tuple[bool, str], *, hash_written: bool
) -> None:
    """End what a change of ``(is_active, password hash)`` from ``before`` to ``after`` ends,
    where ``RevokeOnPasswordChange`` does not see it: the password disabled, or (with
    ``hash_written``, a queryset update) its hash replaced; the account deactivated. A hash
    that ``save()`` changes otherwise was set by ``set_password`` (seen there) or upgraded at
    login (no change of password)."""
    (was_active, old_hash), (is_active, new_hash) = before, after
    if old_hash != new_hash and (
        hash_written or (is_password_usable(old_hash) and not is_password_usable(new_hash))
    ):
        revoke_every_credential(user_id)
    elif was_active and not is_active:
        announce_every_credential_ended(user_id)


class RevokeOnPasswordChange:
    """A password "validator" that refuses nothing: Django calls ``password_changed`` on each
    configured validator once a new password is saved, however it was set."""

    def validate(self, password: str, user: Any = None) -> None:
        return None

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is not None and user.pk is not None:
            revoke_every_credential(user.pk)

    def get_help_text(self) -> str:
        return "A new password signs the account out everywhere: every token and session ends."


def _token_deleted(sender: Any, instance: AuthToken, **kwargs: Any) -> None:
    credentials_revoked.send(
        sender=AuthToken,
        revoked=CredentialsRevoked(user_id=instance.user_id, token_ids=(instance.pk,)),
    )


def _session_deleted(sender: Any, instance: Session, **kwargs: Any) -> None:
    try:
        user_id = int(instance.get_decoded().get(SESSION_KEY, 0))
    except (TypeError, ValueError):
        return  # not a login session (or not one this project wrote): nothing to end
    if user_id:
        credentials_revoked.send(
            sender=Session,
            revoked=CredentialsRevoked(user_id=user_id, session_keys=(instance.session_key,)),
        )


def _user_deleted(sender: Any, instance: User, **kwargs: Any) -> None:
    announce_every_credential_ended(instance.pk)


def connect_hooks() -> None:
    """Connect the model hooks once (dispatch_uid makes a second call harmless)."""
    post_delete.connect(_token_deleted, sender=AuthToken, dispatch_uid="accounts.token_deleted")
    post_delete.connect(_session_deleted, sender=Session, dispatch_uid="accounts.session_deleted")
    post_delete.connect(_user_deleted, sender=User, dispatch_uid="accounts.user_deleted")


@checks.register(checks.Tags.security)
def check_revocation_configured(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Without these, a password change or a logout would leave open websockets streaming."""
    errors: list[checks.CheckMessage] = []
    names = [entry.get("NAME") for entry in settings.AUTH_PASSWORD_VALIDATORS]
    if VALIDATOR_PATH not in names:
        errors.append(
            checks.Error(
                f"{VALIDATOR_PATH} is missing from AUTH_PASSWORD_VALIDATORS.",
                hint="It ends every token and websocket of a user whose password changes.",
                id="accounts.E001",
            )
        )
    if settings.SESSION_ENGINE not in {
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    } or not apps.is_installed("django.contrib.sessions"):
        errors.append(
            checks.Error(
                "SESSION_ENGINE must store sessions in the database (db or cached_db).",
                hint="Ending a session closes its websockets when its row is deleted.",
                id="accounts.E002",
            )
        )
    return errors
