"""Settings come from the environment; production-like settings pass Django's deploy checks."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    unset = {
        "DATABASE_URL",
        "REDIS_URL",
        "REDIS_PREFIX",
        "REDIS_CHANNEL_URLS",
        "REDIS_SENTINELS",
        "REDIS_SENTINEL_MASTER",
    }
    base = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "gleepost.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_json(expression: str, **env: str) -> object:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({expression}, default=str))"
    )
    result = run_python(code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_defaults_are_sqlite_and_in_memory_layer() -> None:
    engine, layer = settings_json(  # type: ignore[misc]
        "[settings.DATABASES['default']['ENGINE'], settings.CHANNEL_LAYERS['default']['BACKEND']]"
    )
    assert engine == "django.db.backends.sqlite3"
    assert layer == "channels.layers.InMemoryChannelLayer"


def test_database_and_redis_urls_are_used() -> None:
    database, layer = settings_json(  # type: ignore[misc]
        "[settings.DATABASES['default'], settings.CHANNEL_LAYERS['default']]",
        DATABASE_URL="postgres://gp@db.internal:5433/gleepost",
        REDIS_URL="redis://cache.internal:6380/2",
    )
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == (
        "db.internal",
        5433,
        "gleepost",
    )
    assert layer["BACKEND"] == "realtime.layers.RedisPubSubChannelLayer"
    assert layer["CONFIG"]["hosts"] == ["redis://cache.internal:6380/2"]
    assert layer["CONFIG"]["prefix"] == "gp:asgi"


def test_the_cache_is_redis_under_the_prefix_when_redis_url_is_set() -> None:
    local = settings_json("settings.CACHES['default']")
    shared = settings_json(
        "settings.CACHES['default']",
        REDIS_URL="redis://cache.internal:6380/2",
        REDIS_PREFIX="blue",
    )
    assert local == {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    assert shared == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6380/2",
        "KEY_PREFIX": "blue:cache",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }


def test_channel_layer_shards_over_channel_urls_while_the_cache_keeps_redis_url() -> None:
    layer, cache = settings_json(  # type: ignore[misc]
        "[settings.CHANNEL_LAYERS['default'], settings.CACHES['default']['LOCATION']]",
        REDIS_URL="redis://cache.internal:6379/0",
        REDIS_CHANNEL_URLS="redis://a.internal:6379/0, rediss://:pw@b.internal:6380/0,",
    )
    assert layer["BACKEND"] == "realtime.layers.RedisPubSubChannelLayer"
    assert layer["CONFIG"]["hosts"] == [
        "redis://a.internal:6379/0",
        "rediss://:pw@b.internal:6380/0",
    ]
    assert cache == "redis://cache.internal:6379/0"


def test_channel_layer_finds_each_shards_master_through_sentinel() -> None:
    hosts = settings_json(
        "settings.CHANNEL_LAYERS['default']['CONFIG']['hosts']",
        REDIS_URL="redis://cache.internal:6379/0",
        REDIS_SENTINELS="s1.internal:26380,s2.internal,[fd00::3]:26381",
        REDIS_SENTINEL_MASTER="gp-a,gp-b",
    )
    sentinels = [["s1.internal", 26380], ["s2.internal", 26379], ["fd00::3", 26381]]
    timeouts = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    assert hosts == [
        {"sentinels": sentinels, "master_name": "gp-a", "sentinel_kwargs": timeouts},
        {"sentinels": sentinels, "master_name": "gp-b", "sentinel_kwargs": timeouts},
    ]


def test_channel_settings_that_cannot_work_stop_the_process_with_a_reason() -> None:
    result = run_python(
        "import django; django.setup()",
        REDIS_URL="redis://cache.internal:6379/0",
        REDIS_CHANNEL_URLS="redis://a.internal:6379/0,http://:secret@b.internal/",
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: REDIS_CHANNEL_URLS: entry 2 is not a redis://" in result.stderr
    assert "secret" not in result.stderr

    result = run_python("import django; django.setup()", REDIS_CHANNEL_URLS="redis://a:6379/0")
    assert result.returncode != 0
    assert "REDIS_CHANNEL_URLS and REDIS_SENTINELS need REDIS_URL" in result.stderr


def test_gleepost_settings_come_from_environment() -> None:
    value = settings_json(
        "__import__('gleepost.conf').conf.gp_settings.LIVE_CONVERSATION_MINUTES",
        GLEEPOST_LIVE_CONVERSATION_MINUTES="3",
    )
    assert value == 3


def test_public_url_comes_from_the_environment_without_its_trailing_slash() -> None:
    value = settings_json(
        "__import__('gleepost.conf').conf.gp_settings.PUBLIC_URL",
        GLEEPOST_PUBLIC_URL="https://gleepost.example.com/",
    )
    assert value == "https://gleepost.example.com"


def test_a_malformed_public_url_stops_the_process_with_a_reason() -> None:
    result = run_python(
        "import django; django.setup()", GLEEPOST_PUBLIC_URL="gleepost.example.com/media"
    )
    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: GLEEPOST_PUBLIC_URL must start with http:// or https://"
        in result.stderr
    )

    result = run_python(
        "import django; django.setup()", GLEEPOST_PUBLIC_URL="https://ops:s3cret@example.com"
    )
    assert result.returncode != 0
    assert "GLEEPOST_PUBLIC_URL must not carry a user name or password" in result.stderr
    assert "s3cret" not in result.stderr


def test_debug_and_hosts_from_environment() -> None:
    debug, hosts = settings_json(  # type: ignore[misc]
        "[settings.DEBUG, settings.ALLOWED_HOSTS]",
        DEBUG="true",
        ALLOWED_HOSTS="a.example, b.example",
    )
    assert debug is True
    assert hosts == ["a.example", "b.example"]


@pytest.mark.slow
def test_production_settings_pass_deploy_checks() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "gleepost.example.com",
            "SECURE_SSL_REDIRECT": "1",
            "SECURE_HSTS_SECONDS": "31536000",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
