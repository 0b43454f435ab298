"""The session websocket's Origin rule: Django's CSRF origin check, scheme and port included."""

from __future__ import annotations

from typing import Any

import pytest

from realtime.origin import origin_allowed

HOST = "127.0.0.1:8000"
PROXY_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def handshake(
    origin: str | None, *, scheme: str | None = None, host: str = HOST, **headers: str
) -> dict[str, Any]:
    """A websocket scope as daphne builds it (no "scheme" unless given)."""
    pairs = [(b"host", host.encode())]
    if origin is not None:
        pairs.append((b"origin", origin.encode()))
    pairs += [(name.encode(), value.encode()) for name, value in headers.items()]
    scope: dict[str, Any] = {"type": "websocket", "path": "/api/v1/ws", "headers": pairs}
    if scheme is not None:
        scope["scheme"] = scheme
    return scope


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.SECURE_PROXY_SSL_HEADER = None


@pytest.mark.parametrize(
    ("scheme", "origin"),
    [(None, f"http://{HOST}"), ("ws", f"http://{HOST}"), ("wss", f"https://{HOST}")],
)
def test_this_site_with_its_own_scheme_is_allowed(scheme: str | None, origin: str) -> None:
    assert origin_allowed(handshake(origin, scheme=scheme))


@pytest.mark.parametrize(
    ("scheme", "origin"),
    [(None, f"https://{HOST}"), ("ws", f"https://{HOST}"), ("wss", f"http://{HOST}")],
)
def test_this_site_with_the_other_scheme_is_refused(scheme: str | None, origin: str) -> None:
    assert not origin_allowed(handshake(origin, scheme=scheme))


@pytest.mark.parametrize(
    "origin", ["http://127.0.0.1:8001", "http://127.0.0.1", "http://localhost:8000"]
)
def test_another_port_or_host_is_refused(origin: str) -> None:
    assert not origin_allowed(handshake(origin))


@pytest.mark.parametrize("origin", [None, "", "null", "http://evil.example"])
def test_no_origin_or_a_foreign_one_is_refused(origin: str | None) -> None:
    assert not origin_allowed(handshake(origin))


def test_a_host_outside_allowed_hosts_is_not_this_site() -> None:
    # A page of evil.example whose name points here (DNS rebinding) is not this site.
    assert not origin_allowed(handshake("http://evil.example", host="evil.example"))


def test_a_trusted_origin_is_allowed_exactly(settings: Any) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    assert origin_allowed(handshake("https://app.example.com"))
    for other in ("http://app.example.com", "https://app.example.com:8443", "https://example.com"):
        assert not origin_allowed(handshake(other)), other


def test_a_wildcard_trusted_origin_allows_its_subdomains_with_its_scheme(
    settings: Any,
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com"]
    for allowed in ("https://app.example.com", "https://a.b.example.com", "https://example.com"):
        assert origin_allowed(handshake(allowed)), allowed
    for refused in (
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://evil-example.com",
        "https://example.com.evil.example",
    ):
        assert not origin_allowed(handshake(refused)), refused


@pytest.mark.parametrize(
    ("forwarded", "origin", "allowed"),
    [
        ("https", f"https://{HOST}", True),
        ("https", f"http://{HOST}", False),
        ("https, http", f"https://{HOST}", True),  # the first value counts, as in Django
        ("http", f"https://{HOST}", False),
        ("http", f"http://{HOST}", True),
    ],
)
def test_behind_a_tls_proxy_the_scheme_is_the_proxy_header(
    settings: Any, forwarded: str, origin: str, allowed: bool
) -> None:
    settings.SECURE_PROXY_SSL_HEADER = PROXY_HEADER
    scope = handshake(origin, **{"x-forwarded-proto": forwarded})
    assert origin_allowed(scope) is allowed


def test_without_the_proxy_header_sent_the_connections_own_scheme_counts(
    settings: Any,
) -> None:
    settings.SECURE_PROXY_SSL_HEADER = PROXY_HEADER
    assert origin_allowed(handshake(f"http://{HOST}"))
    assert not origin_allowed(handshake(f"https://{HOST}"))


def test_the_proxy_header_counts_only_when_the_setting_names_it() -> None:
    scope = handshake(f"https://{HOST}", **{"x-forwarded-proto": "https"})
    assert not origin_allowed(scope)


def test_a_proxy_header_spelt_with_an_underscore_is_ignored(settings: Any) -> None:
    # A client's x_forwarded_proto would read as the proxy's X-Forwarded-Proto in META.
    settings.SECURE_PROXY_SSL_HEADER = PROXY_HEADER
    assert not origin_allowed(handshake(f"https://{HOST}", **{"x_forwarded_proto": "https"}))
