"""The channel layer's Redis hosts read from the environment; settings that cannot work refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from gleepost.redis_hosts import channel_layer_hosts

REDIS_URL = "redis://cache.internal:6379/0"


def test_without_redis_url_there_are_no_hosts() -> None:
    assert channel_layer_hosts({}) == []


def test_redis_url_alone_is_the_one_host() -> None:
    assert channel_layer_hosts({"REDIS_URL": REDIS_URL}) == [REDIS_URL]


def test_channel_urls_are_the_shards_in_their_order() -> None:
    hosts = channel_layer_hosts(
        {
            "REDIS_URL": REDIS_URL,
            "REDIS_CHANNEL_URLS": " unix:///run/redis.sock ,redis://b:6379/0,,redis://b:6379/0",
        }
    )
    # A server listed twice is two shards on it; the order decides which name goes where.
    assert hosts == ["unix:///run/redis.sock", "redis://b:6379/0", "redis://b:6379/0"]


def test_one_sentinel_host_per_master_name() -> None:
    hosts = channel_layer_hosts(
        {
            "REDIS_URL": REDIS_URL,
            "REDIS_SENTINELS": "10.0.0.1:26390, sentinel-b",
            "REDIS_SENTINEL_MASTER": "gp",
        }
    )
    assert hosts == [
        {
            "sentinels": [("10.0.0.1", 26390), ("sentinel-b", 26379)],
            "master_name": "gp",
            "sentinel_kwargs": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    ]


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({"REDIS_CHANNEL_URLS": "redis://a:6379/0"}, "need REDIS_URL"),
        ({"REDIS_SENTINELS": "s:26379", "REDIS_SENTINEL_MASTER": "gp"}, "need REDIS_URL"),
        (
            {
                "REDIS_URL": REDIS_URL,
                "REDIS_CHANNEL_URLS": "redis://a:6379/0",
                "REDIS_SENTINELS": "s:26379",
                "REDIS_SENTINEL_MASTER": "gp",
            },
            "not both",
        ),
        ({"REDIS_URL": REDIS_URL, "REDIS_SENTINELS": "s:26379"}, "go together"),
        ({"REDIS_URL": REDIS_URL, "REDIS_SENTINEL_MASTER": "gp"}, "go together"),
        ({"REDIS_URL": REDIS_URL, "REDIS_CHANNEL_URLS": "a.internal:6379"}, "entry 1 is not"),
        (
            {"REDIS_URL": REDIS_URL, "REDIS_SENTINELS": "s:port", "REDIS_SENTINEL_MASTER": "gp"},
            "'s:port' is not host or host:port",
        ),
        (
            {"REDIS_URL": REDIS_URL, "REDIS_SENTINELS": ":26379", "REDIS_SENTINEL_MASTER": "gp"},
            "is not host or host:port",
        ),
        (
            {"REDIS_URL": REDIS_URL, "REDIS_SENTINELS": "s:70000", "REDIS_SENTINEL_MASTER": "gp"},
            "is not host or host:port",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused(environ: dict[str, str], reason: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=reason):
        channel_layer_hosts(environ)


def test_a_refused_url_is_not_repeated_in_the_error() -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        channel_layer_hosts(
            {"REDIS_URL": REDIS_URL, "REDIS_CHANNEL_URLS": "redis://a/0,https://:hunter2@b/"}
        )
    assert "entry 2" in str(refused.value)
    assert "hunter2" not in str(refused.value)
