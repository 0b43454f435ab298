"""Rate limits of login and register: per IP, per account, checked before the password is."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.http import HttpRequest
from rest_framework.test import APIClient

from accounts import throttling
from accounts.models import AuthToken, User
from tests.conftest import Member

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
# A multiple of every window used here, so that Retry-After is exact.
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(throttling, "now", clock)
    return clock


@pytest.fixture
def limits(settings: Any) -> Callable[..., None]:
    """Set some GLEEPOST limits for one test; the others keep their defaults."""

    def set_limits(**values: int) -> None:
        settings.GLEEPOST = {**getattr(settings, "GLEEPOST", {}), **values}

    return set_limits


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords that reached User.check_password."""
    seen: list[str] = []
    original = User.check_password

    def check_password(self: User, raw_password: str | None) -> bool:
        seen.append(raw_password or "")
        return original(self, raw_password)

    monkeypatch.setattr(User, "check_password", check_password)
    return seen


def login(email: str, password: str, ip: str = "10.0.0.1") -> Any:
    return APIClient().post("/api/v1/login", {"email": email, "pass": password}, REMOTE_ADDR=ip)


def register(username: str, ip: str = "10.0.0.1") -> Any:
    params = {"username": username, "email": f"{username}@example.com", "pass": PASSWORD}
    return APIClient().post("/api/v1/register", params, REMOTE_ADDR=ip)


def assert_throttled(response: Any, wait_secs: int) -> None:
    assert response.status_code == 429
    assert response.json() == {"error": f"Too many attempts; try again in {wait_secs} seconds"}
    assert response["Retry-After"] == str(wait_secs)


def test_login_attempts_from_one_ip_are_limited(
    alice: Member, clock: Clock, limits: Callable[..., None]
) -> None:
    limits(LOGIN_ATTEMPTS_PER_IP=3, LOGIN_ATTEMPTS_PER_IP_WINDOW_SECS=60)
    clock.now = T0 + 15
    statuses = [login("alice@example.com", PASSWORD).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert_throttled(login("alice@example.com", PASSWORD), 45)
    # Another address has its own count.
    assert login("alice@example.com", PASSWORD, ip="10.0.0.2").status_code == 200


def test_the_ip_limit_counts_malformed_attempts_too(
    clock: Clock, limits: Callable[..., None]
) -> None:
    limits(LOGIN_ATTEMPTS_PER_IP=2)
    client = APIClient()
    assert client.post("/api/v1/login", {}).status_code == 400
    assert client.post("/api/v1/login", {"email": "x@example.com"}).status_code == 400
    assert_throttled(client.post("/api/v1/login", {}), 60)


def test_an_ip_over_its_limit_gets_no_password_checked(
    alice: Member, clock: Clock, limits: Callable[..., None], password_checks: list[str]
) -> None:
    limits(LOGIN_ATTEMPTS_PER_IP=2)
    login("alice@example.com", "wrong guess 1")
    login("alice@example.com", "wrong guess 2")
    assert login("alice@example.com", PASSWORD).status_code == 429
    assert password_checks == ["wrong guess 1", "wrong guess 2"]


def test_failures_against_one_account_from_one_ip_are_limited(
    alice: Member, clock: Clock, limits: Callable[..., None], password_checks: list[str]
) -> None:
    limits(LOGIN_FAILURES_PER_ACCOUNT_AND_IP=3, LOGIN_FAILURES_WINDOW_SECS=900)
    clock.now = T0 + 300
    for guess in ("guess one", "guess two", "guess three"):
        response = login("alice@example.com", guess)
        assert response.status_code == 400
        assert response.json() == {"error": "Bad email/password"}
    tokens_before = AuthToken.objects.count()
    # The right password during the lockout is not even looked at.
    assert_throttled(login("alice@example.com", PASSWORD), 600)
    assert password_checks == ["guess one", "guess two", "guess three"]
    assert AuthToken.objects.count() == tokens_before


def test_the_account_is_the_email_whatever_its_case(
    alice: Member, clock: Clock, limits: Callable[..., None]
) -> None:
    limits(LOGIN_FAILURES_PER_ACCOUNT_AND_IP=2)
    login("alice@example.com", "guess one")
    login(" ALICE@Example.COM ", "guess two")
    assert login("Alice@example.com", PASSWORD).status_code == 429


def test_a_guesser_does_not_lock_the_owner_out_from_elsewhere(
    alice: Member, clock: Clock, limits: Callable[..., None]
) -> None:
    limits(LOGIN_FAILURES_PER_ACCOUNT_AND_IP=3)
    for _ in range(10):
        login("alice@example.com", "a guess", ip="203.0.113.9")
    assert login("alice@example.com", PASSWORD, ip="203.0.113.9").status_code == 429
    assert login("alice@example.com", PASSWORD, ip="198.51.100.7").status_code == 200


def test_failures_from_many_ips_meet_the_account_ceiling(
    alice: Member, clock: Clock, limits: Callable[..., None], password_checks: list[str]
) -> None:
    limits(LOGIN_FAILURES_PER_ACCOUNT_AND_IP=3, LOGIN_FAILURES_PER_ACCOUNT=5)
    clock.now = T0 + 899
    for number in range(5):
        assert login("alice@example.com", "a guess", ip=f"203.0.113.{number}").status_code == 400
    assert_throttled(login("alice@example.com", PASSWORD, ip="198.51.100.7"), 1)
    assert len(password_checks) == 5
    # The ceiling is hit for this window only.
    clock.now = T0 + 900
    assert login("alice@example.com", PASSWORD, ip="198.51.100.7").status_code == 200


def test_refused_attempts_do_not_count_towards_the_account_ceiling(
    alice: Member, clock: Clock, limits: Callable[..., None]
) -> None:
    limits(LOGIN_FAILURES_PER_ACCOUNT_AND_IP=2, LOGIN_FAILURES_PER_ACCOUNT=5)
    # One address hammering: 2 attempts evaluated, 48 refused without counting overall.
    for _ in range(50):
        login("alice@example.com", "a guess", ip="203.0.113.9")
    assert login("alice@example.com", PASSWORD, ip="198.51.100.7").status_code == 200


def test_a_successful_login_clears_the_failures(
    alice: Member, clock: Clock, limits: Callable[..., None]
) -> None:
    limits(LOGIN_FAILURES_PER_ACCOUNT_AND_IP=3, LOGIN_FAILURES_PER_ACCOUNT=3)
    login("alice@example.com", "typo one")
    login("alice@example.com", "typo two")
    assert login("alice@example.com", PASSWORD).status_code == 200
    assert [login("alice@example.com", "typo").status_code for _ in range(3)] == [400] * 3
    assert login("alice@example.com", PASSWORD).status_code == 429


def test_the_lockout_ends_with_its_window(
    alice: Member, clock: Clock, limits: Callable[..., None]
) -> None:
    limits(LOGIN_FAILURES_PER_ACCOUNT_AND_IP=2, LOGIN_FAILURES_WINDOW_SECS=900)
    clock.now = T0 + 100
    login("alice@example.com", "guess one")
    login("alice@example.com", "guess two")
    assert_throttled(login("alice@example.com", PASSWORD), 800)
    clock.now = T0 + 899.5
    assert_throttled(login("alice@example.com", PASSWORD), 1)
    clock.now = T0 + 900
    assert login("alice@example.com", PASSWORD).status_code == 200


def test_unknown_accounts_are_limited_like_real_ones(
    clock: Clock, limits: Callable[..., None]
) -> None:
    # The answers must not tell an attacker which emails exist.
    limits(LOGIN_FAILURES_PER_ACCOUNT_AND_IP=2)
    assert [login("nobody@example.com", "x").status_code for _ in range(3)] == [400, 400, 429]


def test_register_attempts_from_one_ip_are_limited(
    alice: Member, clock: Clock, limits: Callable[..., None]
) -> None:
    limits(REGISTER_ATTEMPTS_PER_IP=2, REGISTER_ATTEMPTS_PER_IP_WINDOW_SECS=3600)
    assert register("erin").status_code == 201
    assert register("alice").status_code == 400  # taken: counted all the same
    assert_throttled(register("frank"), 3600)
    assert not User.objects.filter(username="frank").exists()
    assert register("frank", ip="10.0.0.2").status_code == 201


def test_a_limit_of_zero_is_no_limit(alice: Member, limits: Callable[..., None]) -> None:
    limits(LOGIN_ATTEMPTS_PER_IP=0, LOGIN_FAILURES_PER_ACCOUNT_AND_IP=0)
    assert all(login("alice@example.com", "guess").status_code == 400 for _ in range(30))


def test_ipv6_clients_are_counted_by_their_64(
    alice: Member, clock: Clock, limits: Callable[..., None]
) -> None:
    limits(LOGIN_ATTEMPTS_PER_IP=2)
    login("alice@example.com", PASSWORD, ip="2001:db8:1:2::1")
    login("alice@example.com", PASSWORD, ip="2001:db8:1:2:ffff::9")
    assert login("alice@example.com", PASSWORD, ip="2001:db8:1:2::77").status_code == 429
    assert login("alice@example.com", PASSWORD, ip="2001:db8:1:3::1").status_code == 200


@pytest.mark.parametrize(
    ("remote_addr", "counted_as"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8::1", "2001:db8::/64"),
        ("", "unknown"),
        ("not an address", "not an address"),
    ],
)
def test_client_ip(remote_addr: str, counted_as: str) -> None:
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = remote_addr
    assert throttling.client_ip(request) == counted_as


def test_parallel_attempts_cannot_overtake_the_limit(clock: Clock) -> None:
    limit = throttling.Limit("parallel-test", 10, 60)
    refused: list[int | None] = []

    def attempt() -> None:
        refused.append(throttling._hit(limit, "10.0.0.1", clock()))

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refused.count(None) == 10


def test_an_unreachable_cache_lets_logins_through_and_says_so(
    alice: Member, settings: Any, limits: Callable[..., None], caplog: pytest.LogCaptureFixture
) -> None:
    limits(LOGIN_ATTEMPTS_PER_IP=1, LOGIN_FAILURES_PER_ACCOUNT_AND_IP=1)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    with caplog.at_level(logging.WARNING, logger="accounts.throttling"):
        assert [login("alice@example.com", PASSWORD).status_code for _ in range(3)] == [200] * 3
    assert "Rate limits not enforced" in caplog.text


def test_passwords_and_tokens_never_reach_the_logs(
    alice: Member, clock: Clock, limits: Callable[..., None], caplog: pytest.LogCaptureFixture
) -> None:
    limits(LOGIN_FAILURES_PER_ACCOUNT_AND_IP=1)
    with caplog.at_level(logging.DEBUG):
        token = login("alice@example.com", PASSWORD).json()["value"]
        login("alice@example.com", "secret guess")
        throttled = login("alice@example.com", PASSWORD)
    assert throttled.status_code == 429
    assert "limit reached" in caplog.text
    for secret in (PASSWORD, "secret guess", token):
        assert secret not in caplog.text
