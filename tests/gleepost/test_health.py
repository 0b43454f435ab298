"""``/healthz`` and ``/readyz``: answers, time bounds, and what a failure reveals."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from gleepost import health
from tests.servers import redis_sentinel, redis_server

# A probe must answer well inside a load balancer's usual timeout, whatever Redis does.
PROBE_BOUND_SECS = 2.0


@pytest.fixture
def client() -> Client:
    return Client()


def test_healthz_is_ok_without_database_or_credentials(client: Client) -> None:
    # No django_db mark: pytest-django fails the test if the view touches the database.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_ignores_bad_credentials(client: Client) -> None:
    response = client.get("/healthz", HTTP_X_GP_AUTH="1-not-a-token")
    assert response.status_code == 200


def test_healthz_answers_head(client: Client) -> None:
    assert client.head("/healthz").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_post_is_405_in_the_api_error_shape(client: Client, path: str) -> None:
    # A body the API's parsers would refuse with 400: the method is refused first.
    response = client.post(path, data="{not json", content_type="application/json")
    assert response.status_code == 405
    assert response.json() == {"error": 'Method "POST" not allowed.'}
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_readyz_is_ready_with_the_configured_services(client: Client, settings: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    expected = {"database", "redis"} if settings.REDIS_URL else {"database"}
    assert set(body["checks"]) == expected
    for check in body["checks"].values():
        assert check["ok"] is True
        assert 0 <= check["latency_ms"] < PROBE_BOUND_SECS * 1000
        assert "error" not in check


@pytest.mark.django_db
def test_readyz_omits_redis_when_not_configured(client: Client, settings: Any) -> None:
    settings.REDIS_URL = ""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert list(response.json()["checks"]) == ["database"]


class BrokenConnection:
    """Stands in for the database connection: connecting fails, with secrets in the message."""

    def cursor(self) -> Any:
        raise OperationalError('connection to "db.internal" failed for "gp" password=hunter2')


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_fails(
    client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REDIS_URL = ""
    monkeypatch.setattr(health, "connection", BrokenConnection())
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["error"] == "OperationalError"
    assert "hunter2" not in response.content.decode()
    assert "db.internal" not in response.content.decode()


@pytest.mark.slow
@pytest.mark.django_db
def test_readyz_is_503_soon_after_redis_stops(client: Client, settings: Any) -> None:
    with redis_server() as server:
        settings.REDIS_URL = server.url
        assert client.get("/readyz").status_code == 200
        server.stop()

        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started

    assert elapsed < PROBE_BOUND_SECS
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["error"] == "ConnectionError"
    text = response.content.decode()
    assert "redis://" not in text
    assert str(server.port) not in text


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A URL whose server accepts connections and never answers (the kernel's backlog does)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"redis://:secret@127.0.0.1:{listener.getsockname()[1]}/0"


@pytest.mark.django_db
def test_readyz_gives_up_on_a_redis_that_never_answers(
    client: Client, settings: Any, silent_redis: str
) -> None:
    settings.REDIS_URL = silent_redis
    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started

    assert elapsed < PROBE_BOUND_SECS
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == {
        "ok": False,
        "latency_ms": response.json()["checks"]["redis"]["latency_ms"],
        "error": "TimeoutError",
    }
    assert "secret" not in response.content.decode()


def channel_layer_on(settings: Any, hosts: list[Any]) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime.layers.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": hosts},
        }
    }


@pytest.mark.django_db
def test_readyz_checks_each_channel_layer_shard_and_is_503_when_one_is_down(
    client: Client, settings: Any, silent_redis: str
) -> None:
    with redis_server() as main, redis_server() as shard_one, redis_server() as shard_two:
        settings.REDIS_URL = main.url
        channel_layer_on(settings, [shard_one.url, shard_two.url])
        body = client.get("/readyz").json()
        assert body["status"] == "ready"
        assert set(body["checks"]) == {"database", "redis", "channel_layer_1", "channel_layer_2"}

        shard_two.stop()
        # Seven more that never answer, 0.5 s each: one after another they would take 3.5 s;
        # side by side, the time of one. Half of one after another is a bound that tells the
        # two apart and that a busy machine does not reach.
        silent = 7
        channel_layer_on(settings, [shard_one.url, shard_two.url, *[silent_redis] * silent])
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started

    assert elapsed < silent * health.REDIS_TIMEOUT_SECS / 2
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"]["ok"] is True
    assert checks["channel_layer_1"]["ok"] is True
    assert checks["channel_layer_2"] == {
        "ok": False,
        "latency_ms": checks["channel_layer_2"]["latency_ms"],
        "error": "ConnectionError",
    }
    assert [checks[f"channel_layer_{n}"]["error"] for n in (3, 4, 5)] == ["TimeoutError"] * 3
    assert "redis://" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_has_no_channel_layer_checks_when_the_layer_uses_redis_url(
    client: Client, settings: Any
) -> None:
    with redis_server() as server:
        settings.REDIS_URL = server.url
        channel_layer_on(settings, [server.url])
        assert set(client.get("/readyz").json()["checks"]) == {"database", "redis"}


@pytest.mark.django_db
def test_readyz_pings_the_master_each_sentinel_host_names(client: Client, settings: Any) -> None:
    from gleepost.redis_hosts import channel_layer_hosts

    with redis_server() as master, redis_sentinel(master, "gp-main") as sentinel:
        environ = {"REDIS_URL": master.url, "REDIS_SENTINELS": sentinel}
        settings.REDIS_URL = master.url
        channel_layer_on(
            settings, channel_layer_hosts({**environ, "REDIS_SENTINEL_MASTER": "gp-main,nobody"})
        )
        response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["channel_layer_1"]["ok"] is True
    # A master name no Sentinel monitors.
    assert checks["channel_layer_2"]["error"] == "MasterNotFoundError"
