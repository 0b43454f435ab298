"""Who is on the other end of a websocket (or an HTTP event stream): the same credentials as the
REST API.

``?id=&token=`` in the query string, the ``X-GP-Auth: <id>-<token>`` header, or a Django
session cookie. A session is ambient authority a browser sends to any site's websocket, so it
only counts when the handshake's Origin is this site or a trusted origin (cross-site websocket
hijacking; realtime.origin.session_may_authenticate); tokens are never ambient, so token
connections are accepted with or without Origin (phones send none).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from accounts.models import AuthToken, User
from accounts.tokens import (
    Credentials,
    authenticate_credentials,
    parse_auth_header,
    parse_credentials,
)
from realtime.access import session_user
from realtime.origin import session_may_authenticate

logger = logging.getLogger(__name__)


class BadCredentials(Exception):
    """Credentials were presented and are wrong (malformed, unknown, expired, revoked)."""


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def query_params(scope: dict[str, Any]) -> dict[str, list[str]]:
    """A handshake's (or HTTP stream request's) query string, parsed as Django reads one."""
    return parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))


def credentials_from_scope(scope: dict[str, Any]) -> Credentials | None:
    """The token credentials of a handshake; None if it carries none. Malformed ones fail."""
    header = _header(scope, b"x-gp-auth")
    if header is not None:
        credentials = parse_auth_header(header)
        if credentials is None:
            raise BadCredentials
        return credentials
    query = query_params(scope)
    if "id" not in query and "token" not in query:
        return None
    ids, tokens = query.get("id", []), query.get("token", [])
    if len(ids) != 1 or len(tokens) != 1:
        raise BadCredentials
    credentials = parse_credentials(ids[0], tokens[0])
    if credentials is None:
        raise BadCredentials
    return credentials


# Django's reading of the session, not Channels' get_user: that one flushes a session signed
# with a key of SECRET_KEY_FALLBACKS (logging the browser out) where Django's accepts it, and
# both would write to the session from a handshake, which cannot send its cookie back.
_session_user = database_sync_to_async(session_user)


@database_sync_to_async
def _token_user(credentials: Credentials) -> tuple[User, AuthToken] | None:
    return authenticate_credentials(credentials)


@dataclass(frozen=True)
class Authenticated:
    """Who a handshake authenticated, and with what: ``token`` and the ``credentials`` it was
    presented as, or neither for a session (the handshake checks them again after its join)."""

    user: User
    token: AuthToken | None = None
    credentials: Credentials | None = None


async def authenticate(scope: dict[str, Any]) -> Authenticated | None:
    """The user of a handshake and how they authenticated; None if refused."""
    result = await _authenticate(scope)
    if isinstance(result, str):
        # Logged in the connection's context (its connection_id); never the credentials.
        logger.info("websocket credentials refused: %s", result)
        return None
    return result


async def _authenticate(scope: dict[str, Any]) -> Authenticated | str:
    """The user and how, or why the handshake is refused."""
    try:
        credentials = credentials_from_scope(scope)
    except BadCredentials:
        return "malformed token credentials"
    if credentials is not None:
        result = await _token_user(credentials)
        if result is None:
            return f"unknown, expired or revoked token of user {credentials.user_id}"
        user, token = result
        return Authenticated(user, token, credentials)
    if "session" not in scope or not session_may_authenticate(scope):
        return "no credentials, or a session from a foreign origin"
    user = await _session_user(scope["session"])
    if not isinstance(user, User) or not user.is_active:
        return "no logged-in active user in the session"
    return Authenticated(user)
