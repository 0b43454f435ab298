"""The Prometheus metrics of this process, served by ``GET /metrics`` (README, Metrics).

Every metric lives in prometheus_client's default registry, which is per process: each daphne
process counts only its own connections and deliveries, and is scraped on its own.

Deliveries are on the hot path (bench/results: ~32 µs of CPU per delivered event), so a labelled
child is looked up once per label value and kept (``_Children``): counting an event is one dict
lookup and one ``inc``, with no string formatting.
"""

from __future__ import annotations

from typing import Literal, get_args

from prometheus_client import Counter, Gauge, Histogram

from realtime.close_codes import (
    CLOSE_GOING_AWAY,
    CLOSE_INVALID_CREDENTIALS,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    NO_CLOSE_FRAME,
)

CONNECTIONS_OPEN = Gauge(
    "gleepost_websocket_connections_open",
    "Websocket connections open on this process, from the handshake to the close.",
)
CONNECTIONS_OPENED = Counter(
    "gleepost_websocket_connections_opened",
    "Websocket handshakes this process received, refused ones"
    f" ({CLOSE_INVALID_CREDENTIALS}, {CLOSE_POLICY}) included.",
)
CONNECTIONS_CLOSED = Counter(
    "gleepost_websocket_connections_closed",
    "Websocket connections ended, by close code as daphne reported it"
    f" ({NO_CLOSE_FRAME}: dropped without"
    " a close frame; none: the consumer ended without seeing the close, having raised or been"
    " cancelled at shutdown).",
    ["code"],
)
# The HTTP transports (realtime.consumer.streams), by transport: "sse" or "longpoll".
STREAMS_OPEN = Gauge(
    "gleepost_http_streams_open",
    "HTTP event streams (SSE) and long-polls under way on this process, from the request to"
    " the end of the answer.",
    ["transport"],
)
STREAMS_OPENED = Counter(
    "gleepost_http_streams_opened",
    "HTTP event stream and long-poll requests this process received, refused ones included.",
    ["transport"],
)
STREAMS_CLOSED = Counter(
    "gleepost_http_streams_closed",
    "HTTP event streams and long-polls ended, by transport and by the websocket close code the"
    f" server's reason stands for ({CLOSE_NORMAL}: a long-poll answered; {CLOSE_GOING_AWAY}:"
    f" shutdown; {CLOSE_INVALID_CREDENTIALS}, {CLOSE_POLICY} as on a websocket; client: the"
    " client went away first, or stopped reading and the server ended it).",
    ["transport", "code"],
)
EVENTS_PUBLISHED = Counter(
    "gleepost_events_published",
    "Event sends to a channel-layer group that completed, by event type: one per group, so an"
    " event for 3 users' streams counts 3 and an event to a post's subscribers 1.",
    ["type"],
)
EVENTS_DELIVERED = Counter(
    "gleepost_events_delivered",
    "Event frames written to clients, by event type: live events from either delivery path,"
    " events replayed from the history, and the server's own answers (views, errors).",
    ["type"],
)
PUBLISH_LATENCY = Histogram(
    "gleepost_publish_latency_seconds",
    "From an event's publish (its transaction committed) to its channel-layer send completing;"
    " sends that failed are not observed (see gleepost_errors_total).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
SUBSCRIPTIONS = Gauge(
    "gleepost_subscriptions",
    "Post and network subscriptions held by this process's connections now, by kind.",
    ["kind"],
)
ERRORS = Counter(
    "gleepost_errors",
    "Failures by kind: client frames answered with an error event (frame, rate_limited,"
    " subscription_limit), refused handshakes (invalid_credentials, too_many_connections),"
    " channel-layer sends that failed or were dropped (publish, publish_dropped), and direct"
    " deliveries that raised and were queued instead (direct_delivery).",
    ["kind"],
)

ErrorKind = Literal[
    "frame",
    "rate_limited",
    "subscription_limit",
    "invalid_credentials",
    "too_many_connections",
    "publish",
    "publish_dropped",
    "direct_delivery",
]
SubscriptionKind = Literal["post", "network"]


class _Children(dict[str | None, Counter]):
    """A metric's labelled children by label value, created on first use; None is "unknown"
    (a channel-layer message from a version that did not carry the event type)."""

    def __init__(self, metric: Counter) -> None:
        super().__init__()
        self.metric = metric

    def __missing__(self, value: str | None) -> Counter:
        child = self[value] = self.metric.labels(value or "unknown")
        return child


published = _Children(EVENTS_PUBLISHED)
"""``published[event_type].inc(sends)``."""
delivered = _Children(EVENTS_DELIVERED)
"""``delivered[event_type].inc()``, once per frame written."""
_errors = _Children(ERRORS)
_closed = _Children(CONNECTIONS_CLOSED)

# Every known label value is exported from the start, at 0: a rate() over a series that appears
# only with its first increment misses that increment.
for _kind in get_args(ErrorKind):
    _errors[_kind]
post_subscriptions = SUBSCRIPTIONS.labels("post")
network_subscriptions = SUBSCRIPTIONS.labels("network")


def count_error(kind: ErrorKind, count: int = 1) -> None:
    """Count ``count`` failures of ``kind``."""
    _errors[kind].inc(count)


def connection_opened() -> None:
    """A websocket handshake arrived."""
    CONNECTIONS_OPENED.inc()
    CONNECTIONS_OPEN.inc()


def stream_opened(transport: str) -> None:
    """An HTTP event stream or long-poll request arrived."""
    STREAMS_OPENED.labels(transport).inc()
    STREAMS_OPEN.labels(transport).inc()


def stream_closed(transport: str, code: int | None) -> None:
    """It ended with ``code`` (None: the client went away before the server ended it)."""
    STREAMS_CLOSED.labels(transport, str(code) if code is not None else "client").inc()
    STREAMS_OPEN.labels(transport).dec()


def connection_closed(code: int | None) -> None:
    """A websocket connection ended with ``code`` (None: the consumer never saw the close)."""
    _closed[str(code) if code is not None else "none"].inc()
    CONNECTIONS_OPEN.dec()
