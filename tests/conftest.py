"""Shared fixtures: named users (alice, bob, carol, dave) with tokens and authenticated clients.

Roles used across the suite: alice, bob and carol share the network "Campus"; dave is an outsider
who shares nothing with them unless a test says so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tokens import issue_token
from tests.signal_recorder import record_signal  # noqa: F401  (a fixture for every test)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# The name of the test property that ``report_figures`` records.
FIGURES = "figures"
# The binding spec (README.md): beside the repository, not in it.
SPEC_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "spec"


@dataclass
class Member:
    """A user with a raw token and an API client that sends it as ``X-GP-Auth``."""

    user: User
    token: str
    client: APIClient

    @property
    def id(self) -> int:
        return self.user.pk

    @property
    def auth_header(self) -> str:
        return f"{self.user.pk}-{self.token}"


def _requirement_unmet(item: pytest.Item) -> str | None:
    if item.get_closest_marker("needs_postgres") and connection.vendor != "postgresql":
        return "needs PostgreSQL (set DATABASE_URL=postgres://...)"
    if item.get_closest_marker("needs_redis") and not os.environ.get("REDIS_URL"):
        return "needs Redis (set REDIS_URL=redis://...)"
    if item.get_closest_marker("needs_ffmpeg"):
        import shutil

        if shutil.which("ffmpeg") is None:
            return "needs ffmpeg on PATH"
    if item.get_closest_marker("needs_spec") and not SPEC_FOLDER.is_dir():
        return f"needs the spec beside the repository, at {SPEC_FOLDER}"
    if item.get_closest_marker("needs_chromium"):
        from tests.browser import CHROMIUM

        if not CHROMIUM.exists():
            return f"needs Chromium at {CHROMIUM} (scripts/setup.sh installs it)"
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    """Keep this run's names in Redis apart from any other run sharing the same Redis server:
    group user.1 of one run must not receive events of another run's user 1. Each pytest-xdist
    worker (scripts/test) is a process of its own, so each has its own prefix, as its own
    database."""
    from django.conf import settings

    prefix = f"gptest{os.getpid()}"
    os.environ["REDIS_PREFIX"] = prefix  # for the daphne processes the tests start
    settings.REDIS_PREFIX = prefix
    config = settings.CHANNEL_LAYERS["default"].get("CONFIG")
    if config is not None:
        config["prefix"] = f"{prefix}:asgi"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests that need a real service skip on a laptop without it, and fail in CI."""
    reason = _requirement_unmet(item)
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's test database; before it is dropped, the connections to it still open
    are ended.

    Django closes the pool's idle connections before the drop, but not one that a thread has
    taken and not given back. Under pytest-xdist, with one worker's tests ending on
    tests/realtime/test_fuzz.py (in-process websockets, their queries on asgiref's threads),
    one such connection was left each time: PostgreSQL waited 5 s, refused the drop ("is being
    accessed by other users"), pytest warned and the database stayed. Every test has run by
    then, and only this run uses its test database."""
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connection.close()


@pytest.fixture
def report_figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a line of what a test measured (the churn's memory, the slow clients' latencies)
    for the run's summary. Printed from the test itself it would be lost under pytest-xdist
    (scripts/test), whose workers' output is not shown; a test's properties travel with its
    report."""

    def report(line: str) -> None:
        request.node.user_properties.append((FIGURES, line))

    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The lines the tests recorded with ``report_figures``, after the results."""
    reports = [
        report
        for reports in terminalreporter.stats.values()
        for report in reports
        if isinstance(report, pytest.TestReport) and report.when == "call"
    ]
    lines = [
        f"{report.nodeid}: {value}"
        for report in sorted(reports, key=lambda report: report.nodeid)
        for name, value in report.user_properties
        if name == FIGURES
    ]
    if lines:
        terminalreporter.section("figures the tests measured", sep="-")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2 at production strength costs ~0.3 s per user; the tests check behaviour, not cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_cache_namespace(settings: Any) -> None:
    # Each test starts with no rate-limit counts: its own key prefix in the cache. Not
    # cache.clear(): on Redis that is FLUSHDB, which would wipe every other run's data too.
    default = settings.CACHES["default"]
    prefix = f"{settings.REDIS_PREFIX}:cache:{uuid.uuid4().hex[:12]}"
    settings.CACHES = {**settings.CACHES, "default": {**default, "KEY_PREFIX": prefix}}


@pytest.fixture
def make_member(db: None) -> Callable[..., Member]:
    def make(username: str, **extra: Any) -> Member:
        user = User.objects.create_user(
            username=username,
            email=f"{username}@example.com",
            password="correct horse battery",
            **extra,
        )
        _, raw = issue_token(user)
        client = APIClient()
        client.credentials(HTTP_X_GP_AUTH=f"{user.pk}-{raw}")
        return Member(user=user, token=raw, client=client)

    return make


@pytest.fixture
def alice(make_member: Callable[..., Member]) -> Member:
    return make_member("alice", profile_image="https://img.example.com/alice.jpg")


@pytest.fixture
def bob(make_member: Callable[..., Member]) -> Member:
    return make_member("bob")


@pytest.fixture
def carol(make_member: Callable[..., Member]) -> Member:
    return make_member("carol")


@pytest.fixture
def dave(make_member: Callable[..., Member]) -> Member:
    return make_member("dave")


@pytest.fixture
def anon() -> APIClient:
    return APIClient()
