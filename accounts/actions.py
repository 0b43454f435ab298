"""Account state changes: registration, login, logout, password change, presence."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import AuthToken, PresenceForm, User
from accounts.signals import PresenceChanged, presence_changed
from accounts.tokens import issue_token
from gleepost.exceptions import InvalidInput

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256


def _check_password(password: str, user: User | None = None) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"pass: must be at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"pass: must be at most {MAX_PASSWORD_CHARS} characters")
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput("pass: " + " ".join(error.messages)) from error


def do_register(username: str, email: str, password: str) -> User:
    """Create a user; usernames and emails are unique regardless of case."""
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as error:
        raise InvalidInput("username: " + " ".join(error.messages)) from error
    try:
        validate_email(email)
    except ValidationError as error:
        raise InvalidInput("email: not a valid email address") from error
    _check_password(password)
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput("username: already taken")
    if User.objects.filter(email__iexact=email).exists():
        raise InvalidInput("email: already registered")
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError as error:
        # Two registrations raced past the checks above; the constraint decided.
        raise InvalidInput("username or email already taken") from error


def do_login(email: str, password: str) -> tuple[AuthToken, str] | None:
    """Check an email and password; a new token and its raw value, or None."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None or not user.is_active or not user.check_password(password):
        return None
    return issue_token(user)


def do_revoke_tokens(user: User, tokens: list[AuthToken] | None = None) -> list[int]:
    """Revoke the given tokens of ``user`` (all of them when None); returns their ids.
    Each deletion is announced by accounts.access, however a token is deleted."""
    with transaction.atomic():
        queryset = AuthToken.objects.filter(user=user)
        if tokens is not None:
            queryset = queryset.filter(pk__in=[token.pk for token in tokens])
        token_ids = list(queryset.values_list("pk", flat=True))
        queryset.delete()
    return token_ids


def do_logout(token: AuthToken) -> None:
    """Revoke the token a client logged in with."""
    do_revoke_tokens(token.user, [token])


def do_set_password(user: User, password: str) -> None:
    """Change a password. Every token and session of the user ends, as with any password
    change (accounts.access.RevokeOnPasswordChange)."""
    _check_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])


def do_set_presence(user: User, form: str) -> datetime:
    """Store ``user``'s presence (``desktop`` or ``mobile``) as of now; returns that time."""
    if form not in PresenceForm.values:
        raise InvalidInput("form: must be desktop or mobile")
    at = timezone.now()
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(presence_form=form, presence_at=at)
        user.presence_form, user.presence_at = form, at
        presence_changed.send(
            sender=User, changed=PresenceChanged(user_id=user.pk, form=form, at=at)
        )
    return at
