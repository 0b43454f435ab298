"""DRF authentication by the Gleepost ``<id, token>`` pair (query, body or ``X-GP-Auth``)."""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import AuthToken, User
from accounts.tokens import (
    Credentials,
    authenticate_credentials,
    parse_auth_header,
    parse_credentials,
)

AUTH_HEADER = "HTTP_X_GP_AUTH"


def request_user(request: Request) -> User:
    """The caller of a view behind IsAuthenticated (the default permission): always a User."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user


def _invalid() -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed("Invalid credentials")


def credentials_from_request(request: Request) -> Credentials | None:
    """The credentials a request carries, or None if it carries none; malformed ones fail."""
    header = request.META.get(AUTH_HEADER)
    if header is not None:
        return parse_auth_header(header) or _raise(_invalid())
    source: Mapping[str, object] | None = None
    if "token" in request.query_params or "id" in request.query_params:
        source = request.query_params
    elif request.method not in {"GET", "HEAD", "OPTIONS"}:
        # Only form and JSON object bodies carry credentials.
        data = request.data
        if isinstance(data, Mapping) and ("token" in data or "id" in data):
            source = data
    if source is None:
        return None
    return parse_credentials(source.get("id"), source.get("token")) or _raise(_invalid())


def _raise(error: Exception) -> Credentials:
    raise error


class GleepostTokenAuthentication(authentication.BaseAuthentication):
    """Accepts ``?id=&token=``, the same pair in the body, or ``X-GP-Auth: <id>-<token>``."""

    def authenticate(self, request: Request) -> tuple[User, AuthToken] | None:
        credentials = credentials_from_request(request)
        if credentials is None:
            return None
        result = authenticate_credentials(credentials)
        if result is None:
            raise _invalid()
        return result

    def authenticate_header(self, request: Request) -> str:
        return 'GP-Auth realm="api"'
