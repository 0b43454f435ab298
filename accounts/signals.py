"""Domain signals of the accounts app. Receivers live in other apps (e.g. ``realtime``).

Each signal carries one frozen dataclass, defined beside it and named for the fact. Each is sent
inside the transaction that made the change: receivers that talk to the outside defer to
``transaction.on_commit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.dispatch import Signal


@dataclass(frozen=True)
class CredentialsRevoked:
    """Credentials of one user stopped being valid: whatever they opened must end.

    ``every_credential`` when nothing the user held before stays valid: the password changed
    or was disabled, the account was deactivated or deleted. Otherwise the named tokens (ids)
    and Django sessions (session keys) ended and the user's other credentials are untouched.
    """

    user_id: int
    token_ids: tuple[int, ...] = ()
    session_keys: tuple[str, ...] = ()
    every_credential: bool = False


# Sent with ``revoked=CredentialsRevoked(...)`` by accounts.access, whatever path ended them.
credentials_revoked = Signal()


@dataclass(frozen=True)
class PresenceChanged:
    """A user announced their presence (the websocket's ``presence`` action) and it is stored.

    ``form`` is "desktop" or "mobile"; ``at`` is when it was announced, as stored on the user.
    """

    user_id: int
    form: str
    at: datetime


# Sent with changed=PresenceChanged(...) by accounts.actions.do_set_presence.
presence_changed = Signal()
