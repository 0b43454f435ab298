"""The service's own settings, in one place, with their defaults.

Set them in ``settings.GLEEPOST`` (a dict) or as ``GLEEPOST_<NAME>`` environment variables.
Read them with ``gp_settings.NAME``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # How long a login token is valid.
    "TOKEN_TTL_DAYS": 30,
    # How long a live conversation lasts before the server ends it.
    "LIVE_CONVERSATION_MINUTES": 10,
    # Largest accepted video upload.
    "MAX_VIDEO_MB": 100,
    # Page sizes of the list endpoints.
    "PAGE_SIZE": 20,
    "MAX_MESSAGES_PAGE": 100,
    # Most other participants a conversation may be created with or grow to.
    "MAX_CONVERSATION_PARTICIPANTS": 50,
    "MAX_MESSAGE_CHARS": 5000,
    "MAX_POST_CHARS": 10000,
    "MAX_COMMENT_CHARS": 5000,
    "MAX_VIEWS_PER_REQUEST": 100,
    # Rate limits of POST login and POST register (accounts/throttling.py), counted in fixed
    # windows in the cache; 0 turns a limit off. Every login attempt from one client IP (an
    # IPv6 client: its /64)...
    "LOGIN_ATTEMPTS_PER_IP": 20,
    "LOGIN_ATTEMPTS_PER_IP_WINDOW_SECS": 60,
    # ...failed logins to one account from one IP: what stops a guesser, without locking the
    # account's owner out anywhere else...
    "LOGIN_FAILURES_PER_ACCOUNT_AND_IP": 10,
    # ...and failed logins to one account from every IP together: a ceiling only a distributed
    # guesser reaches, which locks the account until the window ends, never longer.
    "LOGIN_FAILURES_PER_ACCOUNT": 100,
    "LOGIN_FAILURES_WINDOW_SECS": 900,
    # Every register attempt from one client IP (its answers tell which emails are taken).
    "REGISTER_ATTEMPTS_PER_IP": 20,
    "REGISTER_ATTEMPTS_PER_IP_WINDOW_SECS": 3600,
    # ffmpeg binary and how long one video may take before it is given up on.
    "FFMPEG_BINARY": "ffmpeg",
    "FFMPEG_TIMEOUT_SECS": 600,
    # A video left "processing" this long (its worker died) is taken up again.
    "VIDEO_PROCESSING_STALE_SECS": 1800,
    # Each user's event history, replayed to clients that resume: kept this long...
    "EVENT_HISTORY_HOURS": 24,
    # ...and at most this many events per user.
    "EVENT_HISTORY_PER_USER": 10_000,
    # Serve MEDIA_ROOT and STATIC_ROOT from the app itself (one machine); nginx/CDN at scale.
    "SERVE_FILES": True,
    # The address clients reach the service at, scheme and host (and port) only, such as
    # https://gleepost.example.com: a ready video's URLs (REST and video-ready) are made
    # absolute on it unless MEDIA_URL already is (gleepost/media_urls.py). Empty: they stay
    # paths (/media/...). ./scripts/serve sets it to its own address; production sets it.
    "PUBLIC_URL": "",
    # Client frames of any kind a websocket connection may send per second. Past it a frame is
    # not acted on and gets a "rate limited" error (at most one such error a second); a
    # connection that keeps going is closed with 4008 (realtime.throttling.FrameRateLimit).
    "MAX_FRAMES_PER_SEC": 20,
    # Websocket connections one user may have open at once, counted across every daphne process
    # (in Redis when REDIS_URL is set); the next one is closed with 4008.
    "MAX_CONNECTIONS_PER_USER": 20,
    # With a channel layer that cannot carry a revocation from another process (the in-memory
    # one, REDIS_URL unset), each daphne process asks the database this often which of the
    # credentials its connections hold ended, and closes those as on a revocation
    # (realtime.credential_watch); 0: never. Unused with Redis, which carries revocations.
    "CREDENTIAL_RECHECK_SECS": 0.5,
    # GET /metrics, Prometheus's text format of this process's metrics (README, Metrics). Off:
    # 404. With a token, a scrape must send "Authorization: Bearer <token>" or gets 401.
    "METRICS_ENABLED": True,
    "METRICS_TOKEN": "",
    # REST under a WSGI server behind nginx (gleepost.wsgi, deploy/): the client's address is
    # the first of X-Forwarded-For, as daphne's --proxy-headers takes it. Never when clients
    # reach the server directly: they could name any address and escape the per-IP limits.
    "PROXY_HEADERS": False,
    # Log lines (gleepost.logs): "text" for a terminal, "json" (one object per line, with the
    # request's or connection's id) for a log collector. The settings module builds LOGGING
    # from it.
    "LOG_FORMAT": "text",
    # Bytes written to one websocket and not yet taken by the kernel (gleepost.server): a client
    # that stops reading would otherwise make daphne buffer what is sent to it without bound.
    # Over it for longer than a short grace (or far over it at all) the connection is closed
    # with 4009, and the client resumes from the history.
    "MAX_UNSENT_BYTES_PER_CONNECTION": 1024 * 1024,
    # The kernel's send buffer of each websocket and SSE stream, fixed rather than auto-tuned (up
    # to 4 MiB on Linux): what a stalled client can hold up is then this plus the bound above,
    # and the bound is reached while the backlog is still small. 0: the kernel's own.
    "WEBSOCKET_SEND_BUFFER_BYTES": 128 * 1024,
    # A client closed with 4009 that does not read the close either is cut off after this long.
    "SLOW_CLIENT_ABORT_SECS": 5.0,
    # How long a daphne process stopping on SIGTERM waits for its connections to close
    # (gleepost.shutdown) before it cancels what is left: long enough for clients to take the
    # 1001 close and requests under way to finish, short enough for a deploy.
    "SHUTDOWN_GRACE_SECS": 5.0,
    # Frames refused for rate (past MAX_FRAMES_PER_SEC) a websocket connection may send within
    # the window before it is closed with 4008: a client that ignores "rate limited" for
    # seconds is abusive.
    "MAX_REFUSED_FRAMES": 100,
    "REFUSED_FRAMES_WINDOW_SECS": 10.0,
    # Post and network subscriptions one websocket connection may hold: each is a channel-layer
    # group it is in, and every event to the post or network is sent to each. A SUBSCRIBE that
    # would pass one is refused whole.
    "MAX_SUBSCRIPTIONS_PER_CONNECTION": 1000,
    "MAX_NETWORK_SUBSCRIPTIONS_PER_CONNECTION": 100,
    # typing and presence frames a connection may have forwarded per second, each kind counted
    # on its own: each one fans out to everyone who shares a conversation. The excess is dropped.
    "MAX_TYPING_FRAMES_PER_SEC": 3,
    "MAX_PRESENCE_FRAMES_PER_SEC": 3,
    # How long a connection trusts what it read about a conversation for typing, so that a burst
    # of typing frames costs one query. Membership changes and endings clear it sooner.
    "PARTICIPATION_CACHE_SECS": 30.0,
    # Conversations whose participation a connection remembers; the typing rate limit keeps it
    # far below this, which bounds the cache's memory.
    "MAX_CACHED_CONVERSATIONS": 200,
    # Server-Sent Events, GET /api/v1/events (realtime.consumer.streams): a comment line is
    # written to every open stream this often, so that proxies and NATs see traffic on an idle
    # one and do not time it out (nginx's default read timeout is 60 s)...
    "SSE_HEARTBEAT_SECS": 15.0,
    # ...and the stream tells EventSource to reconnect this long after it ends (its retry:).
    "SSE_RETRY_MS": 2000,
    # GET /api/v1/longpoll answers {} when no event came in this long; a proxy in front must
    # wait longer than this for the answer (deploy/nginx/gleepost.conf).
    "LONGPOLL_TIMEOUT_SECS": 60.0,
}


class GleepostSettings:
    """Attribute access to GLEEPOST settings, coercing environment strings to the default's type."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown Gleepost setting {name!r}")
        configured: dict[str, Any] = getattr(settings, "GLEEPOST", {})
        if name not in configured:
            return DEFAULTS[name]
        return _coerce(configured[name], DEFAULTS[name])


def _coerce(value: Any, default: Any) -> Any:
    if not isinstance(value, str) or isinstance(default, str):
        return value
    if isinstance(default, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value


gp_settings = GleepostSettings()
