"""What gleepost.extensions.channels_redis relies on in channels-redis beyond its documented
configuration (docs/frameworks.md): each test fails naming the private name or the copied method,
and our module. Nothing here connects to Redis: building a layer opens no connection."""

from __future__ import annotations

import pytest
from channels_redis import pubsub, utils

from tests.gleepost.extensions.contracts import require, require_unchanged

CHANNELS_REDIS = "channels_redis"
AUDITED = "4.3.0"
OURS = "gleepost.extensions.channels_redis"


@pytest.mark.parametrize(
    ("name", "digest", "copy"),
    [
        (
            "RedisSingleShardConnection._receive_message",
            "bbc1e4ac19a5419a",
            f"{OURS}._RetryingShard._receive_message (direct delivery)",
        ),
        (
            "RedisSingleShardConnection.publish",
            "44a8134f61c36a06",
            f"{OURS}._RetryingShard._publish_pipelined (group_send_many)",
        ),
        (
            "RedisPubSubChannelLayer._get_layer",
            "40f40530d32ba6a6",
            f"{OURS}.RedisPubSubChannelLayer._get_layer (builds _LoopLayer)",
        ),
    ],
)
def test_channels_redis_methods_copied(name: str, digest: str, copy: str) -> None:
    owner, method = name.split(".")
    require_unchanged(
        getattr(getattr(pubsub, owner), method),
        digest,
        copy=copy,
        distribution=CHANNELS_REDIS,
        audited=AUDITED,
    )


@pytest.mark.parametrize(
    ("name", "used_by"),
    [
        ("_shards", f"{OURS}._LoopLayer.__init__ (replaces the shards)"),
        ("_get_shard", f"{OURS}._LoopLayer.group_send_many"),
        ("_get_group_channel_name", f"{OURS}._LoopLayer.group_send_many"),
        ("channels", f"{OURS}._RetryingShard._receive_message"),
        ("groups", f"{OURS}._RetryingShard._receive_message"),
        ("channel_layer", f"{OURS}._RetryingShard._receive_message"),
    ],
)
def test_channels_redis_loop_layer_names(name: str, used_by: str) -> None:
    layer = pubsub.RedisPubSubLoopLayer(hosts=["redis://127.0.0.1:1"], channel_layer=None)
    require(layer, name, used_by=used_by, distribution=CHANNELS_REDIS)
    if name == "_shards":
        shard = layer._shards[0]
        assert isinstance(shard, pubsub.RedisSingleShardConnection) and hasattr(shard, "host"), (
            "channels_redis.pubsub.RedisPubSubLoopLayer._shards no longer holds "
            "RedisSingleShardConnection(host, layer): "
            f"{OURS}._LoopLayer rebuilds them"
        )


@pytest.mark.parametrize(
    ("name", "used_by"),
    [
        ("_lock", f"{OURS}._RetryingShard._publish_pipelined"),
        ("_redis", f"{OURS}._RetryingShard._publish_pipelined"),
        ("_ensure_redis", f"{OURS}._RetryingShard._publish_pipelined"),
        ("_receive_message", f"{OURS}._RetryingShard._receive_message"),
        ("publish", f"{OURS}._RetryingShard.publish (retries)"),
        ("subscribe", f"{OURS}._RetryingShard.subscribe (retries)"),
        ("unsubscribe", f"{OURS}._RetryingShard.unsubscribe (retries)"),
        ("_ensure_receiver", f"{OURS}._RetryingShard.subscribe (task context)"),
        ("_pubsub", f"{OURS}._RetryingShard._fresh_pubsub_connection"),
    ],
)
def test_channels_redis_shard_names(name: str, used_by: str) -> None:
    shard = pubsub.RedisSingleShardConnection({"address": "redis://127.0.0.1:1"}, None)
    require(shard, name, used_by=used_by, distribution=CHANNELS_REDIS)


@pytest.mark.parametrize("name", ["_layers", "_args", "_kwargs"])
def test_channels_redis_channel_layer_names(name: str) -> None:
    layer = pubsub.RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:1"])
    require(
        layer,
        name,
        used_by=f"{OURS}.RedisPubSubChannelLayer._get_layer",
        distribution=CHANNELS_REDIS,
    )


def test_channels_redis_wrap_close() -> None:
    require(
        utils,
        "_wrap_close",
        used_by=f"{OURS}.RedisPubSubChannelLayer._get_layer",
        distribution=CHANNELS_REDIS,
    )
