"""The parts of the websocket consumer, ``realtime.consumers.EventConsumer``, one per concern.

- ``state``: what a connection holds, declared once, and the limits it reads when it opens.
- ``delivery``: the message loop and forwarding events (the hot path), in order and once each.
- ``handshake``: authenticate, take a connection slot, join the user's group, check again.
- ``credentials``: the credential ending while connected (revoked, expired, seen by the watch).
- ``resume``: replaying what a client missed, or telling it to resync.
- ``subscriptions``: posts and networks, members only, within the connection's limits.
- ``client_frames``: what the client sends: rate limits, typing and presence.

Each part is a class that adds methods only, and inherits the parts whose methods it calls (so
mypy checks those calls); none adds an attribute to a connection (bench/README.md, "Memory per
connection").
"""
