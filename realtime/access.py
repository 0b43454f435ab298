"""Credentials held by open connections, and ending them (issue 12).

A websocket remembers the credential it was opened with: a token's id, or a fingerprint of a
Django session's key. When ``accounts`` announces that credentials of a user ended
(``credentials_revoked``, whatever path ended them), ``revocation_message`` goes to that user's
group after commit, so it reaches the user's connections on every process; each closes with
``CLOSE_INVALID_CREDENTIALS`` if it holds one of them. A credential that expires instead is
ended by the connection at its expiry time, after checking the database again (a session may
have been extended).

The handshake checks the credential a second time after joining the user's group
(``still_valid``): a revocation committed between the first check and the join published its
message before this connection could hear it, and is caught by the second read instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import AuthToken
from accounts.signals import CredentialsRevoked
from gleepost.extensions.django import session_user

MESSAGE_TYPE = "realtime.credentials_revoked"


def session_fingerprint(session_key: str) -> str:
    """What stands for a session key outside this process: session keys are secrets."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Credential:
    """What a connection was opened with: a token (its id) or a session (its key)."""

    user_id: int
    token_id: int | None = None
    session_key: str | None = None

    def ended_by(self, message: dict[str, Any]) -> bool:
        """Whether ``revocation_message`` ``message`` ends this credential."""
        if message.get("every_credential"):
            return True
        if self.token_id is not None:
            return self.token_id in message.get("tokens", ())
        if self.session_key is not None:
            return session_fingerprint(self.session_key) in message.get("sessions", ())
        return False


def revocation_message(revoked: CredentialsRevoked) -> dict[str, Any]:
    """The control message sent to the user's group (never to a client)."""
    return {
        "type": MESSAGE_TYPE,
        "tokens": list(revoked.token_ids),
        "sessions": [session_fingerprint(key) for key in revoked.session_keys],
        "every_credential": revoked.every_credential,
    }


def still_valid(credential: Credential) -> datetime | None:
    """When ``credential`` expires if it is still valid now (the user active), else None."""
    if credential.token_id is not None:
        expiry: datetime | None = (
            AuthToken.objects.valid()
            .filter(pk=credential.token_id, user_id=credential.user_id, user__is_active=True)
            .values_list("expires_at", flat=True)
            .first()
        )
        return expiry
    if credential.session_key is None:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(credential.session_key)
    if session_user(store).pk != credential.user_id:
        return None
    session_expiry: datetime | None = (
        Session.objects.filter(session_key=credential.session_key, expire_date__gt=timezone.now())
        .values_list("expire_date", flat=True)
        .first()
    )
    return session_expiry


# Token ids per query of ``ended_among``: far below every database's limit on parameters.
TOKENS_PER_QUERY = 500


def ended_among(credentials: Collection[Credential]) -> set[Credential]:
    """Those of ``credentials`` that are no longer valid: every token read in one query (per
    ``TOKENS_PER_QUERY``), each session by ``still_valid`` (Django's own reading, which alone
    knows a session whose user's password changed since)."""
    tokens = [c for c in credentials if c.token_id is not None]
    valid: set[tuple[int, int]] = set()
    for start in range(0, len(tokens), TOKENS_PER_QUERY):
        ids = [c.token_id for c in tokens[start : start + TOKENS_PER_QUERY]]
        valid.update(
            AuthToken.objects.valid()
            .filter(pk__in=ids, user__is_active=True)
            .values_list("pk", "user_id")
        )
    ended = {c for c in tokens if (c.token_id, c.user_id) not in valid}
    ended.update(c for c in credentials if c.session_key is not None and still_valid(c) is None)
    return ended
