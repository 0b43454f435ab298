"""Django settings for Gleepost Realtime.

Everything an operator changes comes from the environment, so the same code runs on a laptop
(SQLite, in-memory channel layer) and in production (PostgreSQL, Redis):

- ``SECRET_KEY``: required when ``DEBUG`` is off; a throwaway key is generated for development.
- ``DEBUG``: ``1``/``true`` to enable. Off by default.
- ``ALLOWED_HOSTS``: comma-separated host names; ``localhost,127.0.0.1,[::1]`` by default.
- ``CSRF_TRUSTED_ORIGINS``: origins allowed to post forms and open session websockets.
- ``DATABASE_URL``: e.g. ``postgres://user@127.0.0.1:5432/gleepost``; a SQLite file by default.
- ``DATABASE_POOL_MAX_SIZE``: PostgreSQL connections pooled per process (10; 0 for none).
- ``REDIS_URL``: when set, channels-redis is the channel layer and Redis the cache; otherwise the
  in-memory layer and a per-process cache, which only work inside one process.
- ``REDIS_CHANNEL_URLS``, or ``REDIS_SENTINELS`` with ``REDIS_SENTINEL_MASTER``: the channel layer
  sharded over several Redis servers, or reaching its master through Sentinel; the cache and
  counters stay on ``REDIS_URL``. See ``gleepost/redis_hosts.py``.
- ``MEDIA_ROOT`` / ``MEDIA_URL``: where videos live and how clients reach them (made absolute
  with ``GLEEPOST_PUBLIC_URL`` when ``MEDIA_URL`` is a path).
- ``GLEEPOST_*``: the service's own knobs, see ``gleepost/conf.py``.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import dj_database_url
import django_stubs_ext

from gleepost.conf import DEFAULTS
from gleepost.logs import checked_log_format, logging_config
from gleepost.media_urls import checked_public_url
from gleepost.redis_hosts import channel_layer_hosts

# Lets the code write ModelAdmin[Model], QuerySet[Model] and friends at run time, as typed.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean from the environment ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated list from the environment, ignoring blanks."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    # Development only: a random key kept in a git-ignored file, so that every process of one
    # checkout (two daphnes, the worker) agrees on it and sessions survive a restart, while no
    # key that production could use is ever committed. Production sets SECRET_KEY.
    _key_file = BASE_DIR / ".secret_key"
    if not _key_file.exists():
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    # Before the admin: its admin/base_site.html adds the live console to the admin's header.
    "console",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI and ReDoc as static files of our own: the docs page loads nothing from a CDN.
    "drf_spectacular_sidecar",
    "channels",
    "accounts",
    "posts",
    "conversations",
    "notifications",
    "videos",
    "realtime",
    # The project package itself, for cross-app management commands (seed_demo).
    "gleepost",
]

MIDDLEWARE = [
    # First, so that every response names its request, refusals by the others included.
    "gleepost.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "gleepost.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gleepost.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "gleepost.wsgi.application"
ASGI_APPLICATION = "gleepost.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Seconds a connection is kept for reuse by its thread; PostgreSQL uses the pool below
        # instead, so this matters for SQLite, or for PostgreSQL with the pool turned off.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
# Django's ASGI handler runs each HTTP request's view on a thread of its own, so a connection
# kept per thread (CONN_MAX_AGE) is never reused, and kept ones pile up until PostgreSQL refuses
# more ("too many clients", seen under the REST benchmark; Django's docs: disable persistent
# connections under ASGI and use pooling). The pool bounds the process's connections, lending one
# to whichever thread needs it; 0 turns it off.
DATABASE_POOL_MAX_SIZE = int(os.environ.get("DATABASE_POOL_MAX_SIZE", "10"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_MAX_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool does not combine with kept connections
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": 10,  # seconds a thread waits for a free connection before failing
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several writers (daphne, the video worker, a shell) share the file: wait for the lock
    # instead of failing at once, and take it at BEGIN so a reader never has to upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
    # The test database is a file, not memory, so that the daphne processes that end-to-end
    # tests start can open the same database as the test; one per test run, so that runs
    # side by side do not delete each other's.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"gleepost-test-{os.getpid()}.sqlite3")
    }

REDIS_URL = os.environ.get("REDIS_URL", "")
# Names in Redis start with this: several deployments (or test runs) can share one Redis.
REDIS_PREFIX = os.environ.get("REDIS_PREFIX", "gp")
# REDIS_URL, or the shards or Sentinel masters of REDIS_CHANNEL_URLS/REDIS_SENTINELS; read even
# without REDIS_URL, so that those set without it are refused rather than ignored.
_channel_hosts = channel_layer_hosts(os.environ)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Why pub/sub and not RedisChannelLayer: docs/channel-layer.md.
            "BACKEND": "realtime.layers.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": _channel_hosts, "prefix": f"{REDIS_PREFIX}:asgi"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache holds the rate-limit counters (accounts/throttling.py). With Redis every daphne
# process counts in one place; without it each process counts on its own. Never call
# cache.clear() on Redis: Django's RedisCache.clear() is FLUSHDB, other deployments' data included.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"{REDIS_PREFIX}:cache",
            # A cache call waits at most this long on a hung Redis; the limits then fail open.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    # Not a rule for passwords: Django tells it when one changes, however it was set, and it
    # ends every token and websocket of the user (accounts.access; a system check needs it).
    {"NAME": "accounts.access.RevokeOnPasswordChange"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.GleepostTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "gleepost.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "gleepost.openapi.AutoSchema",
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "UNAUTHENTICATED_USER": None,
}

# The OpenAPI document of the REST API, generated from the views (gleepost/openapi.py; the
# committed copy is docs/openapi.yaml). Served to anyone: it describes the API, not its data.
SPECTACULAR_SETTINGS = {
    "TITLE": "Gleepost API v1",
    "DESCRIPTION": (
        "The REST API whose writes cause the websocket events (docs/asyncapi.yaml). "
        "Parameters may be sent form-encoded or as JSON in the body, or in the query string. "
        'Errors are `{"error": "<reason>"}`. A trailing slash on any path is optional.'
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "PREPROCESSING_HOOKS": ["gleepost.openapi.without_trailing_slash"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "gleepost.openapi.optional_properties",
    ],
    # One serializer validates a request and renders the answer: its writable fields make the
    # request's component (MessageRequest), all but the write-only ones the answer's (Message).
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "NotificationTypeEnum": "notifications.models.Notification.Type",
        "PresenceFormEnum": "accounts.models.PresenceForm",
        "VideoStatusEnum": "videos.models.Video.Status",
    },
    "TAGS": [
        {"name": "accounts", "description": "Accounts and authentication"},
        {
            "name": "conversations",
            "description": "The sources of message, read and *-conversation events",
        },
        {"name": "notifications", "description": "Notifications and contacts: notification events"},
        {"name": "posts", "description": "Networks and posts: views, post and comment events"},
        {"name": "videos", "description": "Uploads: video-ready events"},
        {"name": "health", "description": "Probes for load balancers, outside /api/v1/"},
    ],
}

# Request bodies other than file uploads are small; anything larger is refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT")
# Probes and Prometheus's scrapes speak plain HTTP to the process itself; a redirect to https
# would fail them.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)/?$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if env_bool("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The service's own settings; read them through gleepost.conf.gp_settings. Defaults live there.
GLEEPOST: dict[str, object] = {
    key.removeprefix("GLEEPOST_"): value
    for key, value in os.environ.items()
    if key.startswith("GLEEPOST_")
}
# Checked once here, so that a malformed address stops every process at start (daphne, the
# worker) instead of reaching clients inside the URLs of their videos.
if "PUBLIC_URL" in GLEEPOST:
    GLEEPOST["PUBLIC_URL"] = checked_public_url(str(GLEEPOST["PUBLIC_URL"]))

# One console handler, redacting credentials: GLEEPOST_LOG_FORMAT=text (the default) for a
# terminal, json (one object per line) in production. See gleepost/logs.py. (Logging is set up
# from here, before gp_settings can be read.)
LOGGING_CONFIG = "gleepost.logs.configure"
LOGGING = logging_config(
    checked_log_format(str(GLEEPOST.get("LOG_FORMAT", DEFAULTS["LOG_FORMAT"]))),
    os.environ.get("LOG_LEVEL", "INFO"),
)
