"""Rate limits of ``POST login`` and ``POST register`` (rest-api.md: 429; issue 5).

Three limits guard login, all checked before the password is looked at, so that a refused guess
is never evaluated:

- every attempt from one client IP (``LOGIN_ATTEMPTS_PER_IP`` a window);
- failures against one account from one IP (``LOGIN_FAILURES_PER_ACCOUNT_AND_IP``): the limit a
  guesser meets. It is keyed by IP as well, so that someone guessing at Alice's password locks
  out themselves, not Alice typing the right one elsewhere;
- failures against one account from every IP (``LOGIN_FAILURES_PER_ACCOUNT``): a much higher
  ceiling on what a guesser with many addresses gets. Reaching it locks the account for the rest
  of the window and no longer: a lockout outlives an attack by at most one window.

A successful login clears the account's failures. The console's login form (console/forms.py)
counts under the same limits and keys, so that it is no second door for a guesser. ``register``
counts every attempt per IP: its answers tell which emails are registered, and each success is a
new account.

Counts live in the default cache (Redis when ``REDIS_URL`` is set, shared by every process) in
fixed windows: the key names the window, ``cache.add`` creates it at 0 with an expiry at the
window's end and ``cache.incr`` counts atomically, so parallel requests cannot overtake a limit.
Across a window boundary a client can get up to twice a limit in a short burst; never more.
A failure is counted before the password is checked and taken back on success, so that parallel
guesses cannot all pass the check before any of them is counted.

If the cache cannot be reached the limits are not enforced, and that is logged: a Redis outage
must not stop everyone from logging in (issue 5, Faults).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.request import Request

from gleepost.conf import gp_settings
from gleepost.errors import RateLimited

logger = logging.getLogger(__name__)


def now() -> float:
    """The clock the windows are cut from (tests move it)."""
    return time.time()


@dataclass(frozen=True)
class Limit:
    """At most ``max_count`` hits in each window of ``window_secs``; 0 means no limit."""

    scope: str
    max_count: int
    window_secs: int

    def key(self, identity: str, at: float) -> str:
        # Hashed: emails and addresses stay out of the cache's key space, and keys stay short.
        digest = hashlib.sha256(identity.encode("utf-8", "backslashreplace")).hexdigest()[:32]
        return f"throttle:{self.scope}:{digest}:{self._window(at)}"

    def wait_secs(self, at: float) -> int:
        """Seconds until the window containing ``at`` ends (at least 1)."""
        window_end = (self._window(at) + 1) * max(1, self.window_secs)
        return max(1, math.ceil(window_end - at))

    def _window(self, at: float) -> int:
        return int(at // max(1, self.window_secs))


def _login_ip() -> Limit:
    return Limit(
        "login-ip",
        gp_settings.LOGIN_ATTEMPTS_PER_IP,
        gp_settings.LOGIN_ATTEMPTS_PER_IP_WINDOW_SECS,
    )


def _login_account_ip() -> Limit:
    return Limit(
        "login-account-ip",
        gp_settings.LOGIN_FAILURES_PER_ACCOUNT_AND_IP,
        gp_settings.LOGIN_FAILURES_WINDOW_SECS,
    )


def _login_account() -> Limit:
    return Limit(
        "login-account",
        gp_settings.LOGIN_FAILURES_PER_ACCOUNT,
        gp_settings.LOGIN_FAILURES_WINDOW_SECS,
    )


def _register_ip() -> Limit:
    return Limit(
        "register-ip",
        gp_settings.REGISTER_ATTEMPTS_PER_IP,
        gp_settings.REGISTER_ATTEMPTS_PER_IP_WINDOW_SECS,
    )


def client_ip(request: Request | HttpRequest) -> str:
    """The address limits are counted against: the client's IP, or its /64 for IPv6.

    daphne puts the peer's address in REMOTE_ADDR. Behind nginx, run daphne with
    ``--proxy-headers`` so that it is the forwarded client's instead of nginx's (which would put
    every client under one limit); never when clients reach daphne directly, since they could
    then claim any address in X-Forwarded-For.
    """
    raw = str(request.META.get("REMOTE_ADDR") or "")
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:100] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        # One IPv6 host usually holds a whole /64.
        return str(ipaddress.ip_network((address, 64), strict=False))
    return str(address)


def _account(email: str) -> str:
    return email.strip().casefold()


def _hit(limit: Limit, identity: str, at: float) -> int | None:
    """Count one hit; the seconds to wait when it is over the limit, else None."""
    if limit.max_count <= 0:
        return None
    key = limit.key(identity, at)
    expires_in = limit.wait_secs(at) + 1
    cache.add(key, 0, timeout=expires_in)
    try:
        count = cache.incr(key)
    except ValueError:
        # The key expired between add and incr: this hit opens the next window.
        cache.add(key, 1, timeout=expires_in)
        count = 1
    if count > limit.max_count:
        return limit.wait_secs(at)
    return None


def _unhit(limit: Limit, identity: str, at: float) -> None:
    if limit.max_count <= 0:
        return
    # A key already gone (its window over) has nothing to take back.
    with contextlib.suppress(ValueError):
        cache.decr(limit.key(identity, at))


def _refuse(limit: Limit, request: Request | HttpRequest, wait_secs: int) -> RateLimited:
    logger.warning(
        "%s limit reached by %s; retry in %ss", limit.scope, client_ip(request), wait_secs
    )
    return RateLimited(wait_secs)


def _cache_down(error: Exception) -> None:
    logger.warning("Rate limits not enforced: the cache is unreachable (%s)", error)


def check_login_ip(request: Request | HttpRequest) -> None:
    """Count a login attempt from the caller's IP; RateLimited (429) past the limit."""
    _check_ip(_login_ip(), request)


def check_register_ip(request: Request) -> None:
    """Count a register attempt from the caller's IP; RateLimited (429) past the limit."""
    _check_ip(_register_ip(), request)


def _check_ip(limit: Limit, request: Request | HttpRequest) -> None:
    try:
        wait = _hit(limit, client_ip(request), now())
    except Exception as error:  # the cache backend's own errors: redis, socket, timeout
        _cache_down(error)
        return
    if wait is not None:
        raise _refuse(limit, request, wait)


def check_login_account(request: Request | HttpRequest, email: str) -> None:
    """Count this attempt as a failure of the account in advance; RateLimited past a limit.

    ``login_succeeded`` takes it back. An attempt refused here is not counted against the
    account as a whole, so nobody can exhaust that ceiling from one IP.
    """
    at, ip, account = now(), client_ip(request), _account(email)
    per_ip, overall = _login_account_ip(), _login_account()
    try:
        wait = _hit(per_ip, f"{account}\n{ip}", at)
        if wait is not None:
            raise _refuse(per_ip, request, wait)
        wait = _hit(overall, account, at)
        if wait is not None:
            _unhit(per_ip, f"{account}\n{ip}", at)
            raise _refuse(overall, request, wait)
    except RateLimited:
        raise
    except Exception as error:
        _cache_down(error)


def login_succeeded(request: Request | HttpRequest, email: str) -> None:
    """The right password: forget the account's failures, from this IP and overall."""
    at, ip, account = now(), client_ip(request), _account(email)
    try:
        cache.delete_many(
            [_login_account_ip().key(f"{account}\n{ip}", at), _login_account().key(account, at)]
        )
    except Exception as error:
        _cache_down(error)
