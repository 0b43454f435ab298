"""Issuing, hashing and checking login tokens, and reading the ``<id, token>`` credential pair.

Shared by the REST authentication class and (later) the websocket consumer, so both accept
exactly the same credentials.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from accounts.models import AuthToken, User
from gleepost.conf import gp_settings
from gleepost.extensions import django as orm

TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 128


@dataclass(frozen=True)
class Credentials:
    """An ``<id, token>`` pair as a client sent it, not yet checked."""

    user_id: int
    token: str


def hash_token(raw: str) -> str:
    """The stored form of a token. Tokens are 256 random bits, so a plain SHA-256 suffices."""
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User) -> tuple[AuthToken, str]:
    """Create a token for ``user``; returns the row and the raw token, which is never stored."""
    raw = secrets.token_hex(TOKEN_BYTES)
    token = AuthToken.objects.create(
        user=user,
        key_hash=hash_token(raw),
        expires_at=timezone.now() + timedelta(days=gp_settings.TOKEN_TTL_DAYS),
    )
    return token, raw


def parse_credentials(user_id: object, token: object) -> Credentials | None:
    """Validate the shape of an id and a token; None when either is malformed."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        return None
    if not token.isascii():
        # Tokens are hex; anything else cannot match, and a lone surrogate cannot even be hashed.
        return None
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        number = user_id
    elif isinstance(user_id, str) and user_id.isascii() and user_id.isdigit() and len(user_id) < 16:
        number = int(user_id)
    else:
        return None
    if number <= 0:
        return None
    return Credentials(number, token)


def parse_auth_header(value: str) -> Credentials | None:
    """Read ``X-GP-Auth: <id>-<token>``; None when malformed."""
    user_id, sep, token = value.strip().partition("-")
    if not sep:
        return None
    return parse_credentials(user_id, token)


def authenticate_credentials(credentials: Credentials) -> tuple[User, AuthToken] | None:
    """The active user and valid token matching ``credentials``, or None. Expired is invalid."""
    found = _valid_token_and_user(hash_token(credentials.token))
    if found is None:
        return None
    token, user = found
    if not hmac.compare_digest(str(token.user_id), str(credentials.user_id)):
        return None
    if not user.is_active:
        return None
    token.user = user
    return user, token


def _valid_token_and_user(key_hash: str) -> tuple[AuthToken, User] | None:
    """``AuthToken.objects.valid().select_related("user").filter(key_hash=…).first()`` in SQL
    written once: every authenticated request runs it, and building that query cost more
    than running it (bench/README.md)."""
    tokens, users = AuthToken._meta.db_table, User._meta.db_table
    now = orm.database_datetime(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {orm.columns(AuthToken, 't')}, {orm.columns(User, 'u')}"
            f" FROM {tokens} t JOIN {users} u ON u.id = t.user_id"
            " WHERE t.key_hash = %s AND t.expires_at > %s",
            [key_hash, now],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    split = orm.width(AuthToken)
    return orm.instance(AuthToken, row[:split]), orm.instance(User, row[split:])
