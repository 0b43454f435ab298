"""The service's channel layer (CHANNEL_LAYERS' BACKEND in gleepost.settings).

channels-redis's pub/sub layer that survives a Redis restart, sends many group messages in one
round trip (``group_send_many``) and hands a group message straight to the consumers that can
take it (``attach_direct``, ``detach_direct``). It is built on channels-redis internals, so it
lives with the service's other framework extensions: gleepost/extensions/channels_redis.py.
"""

from gleepost.extensions.channels_redis import RedisPubSubChannelLayer

__all__ = ["RedisPubSubChannelLayer"]
