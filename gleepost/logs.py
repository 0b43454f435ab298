"""Log lines as text (a developer's terminal) or as one JSON object each (production).

``GLEEPOST_LOG_FORMAT=json`` makes every line the process writes — Django's, ours, daphne's,
Twisted's, and the access log gleepost.server writes — one JSON object with ``time`` (ISO 8601,
UTC), ``level``, ``logger``, ``message``, ``request_id`` / ``connection_id`` where known
(gleepost.log_context), the record's own fields (``status``, ``close_code``…) and, for an
exception, its ``traceback``. ``text`` (the default) is for reading in a terminal.

Every handler redacts credentials first (RedactingFilter), in either format.

Kept free of Django imports: the daphne entry point uses it before Django is set up.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from gleepost import log_context
from gleepost.redaction import redact

LOG_FORMATS = ("text", "json")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "taskName", "request_id", "connection_id"}
)
_ID_FIELDS = ("request_id", "connection_id")


def checked_log_format(configured: str) -> str:
    """The format the setting ``LOG_FORMAT`` names, in any case; an unknown one stops the
    process."""
    value = configured.strip().lower() or "text"
    if value not in LOG_FORMATS:
        raise ValueError(f"GLEEPOST_LOG_FORMAT must be one of {LOG_FORMATS}, not {value!r}")
    return value


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record was given with ``extra=``."""
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}


class ContextFilter(logging.Filter):
    """Puts the current request and connection ids on each record (None when there is none).

    Django logs a response's status after the middleware has returned, with the request as
    ``extra``: its id is then read from the request (gleepost.request_id sets it there).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = log_context.request_id.get() or getattr(
                getattr(record, "request", None), "request_id", None
            )
        if getattr(record, "connection_id", None) is None:
            record.connection_id = log_context.connection_id.get()
        return True


class RedactingFilter(logging.Filter):
    """The last line of defence: no credential leaves through a handler that has this filter.

    The message is formatted here and redacted (its arguments with it), and so are the
    traceback, the stack and the string fields; both formatters then write what is left.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # Arguments that do not fit the message: keep the text, not the arguments.
            message = f"{record.msg} (unformattable arguments)"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in extra_fields(record).items():
            if isinstance(value, str):
                setattr(record, key, redact(value))
        return True


def iso_utc(created: float) -> str:
    """A record's time as ISO 8601 in UTC, to the millisecond: 2026-11-28T02:33:44.229Z."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": iso_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _ID_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        for key, value in extra_fields(record).items():
            # Plain values only: Django adds the request object itself, whose text would be
            # the full URL and which is not the log's to serialise.
            if value is None or isinstance(value, str | int | float | bool):
                entry.setdefault(key, value)
        if record.exc_text:
            entry["traceback"] = record.exc_text
        elif record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message``, then the request or connection id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        ids = [f"{key}={getattr(record, key)}" for key in _ID_FIELDS if getattr(record, key, None)]
        return f"{line} [{' '.join(ids)}]" if ids else line


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def make_handler(stream: Any, formatter: logging.Formatter) -> logging.Handler:
    """A stream handler with the id and redaction filters (what every handler must have)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    return handler


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """Django's ``LOGGING``: everything to one console handler, in ``log_format``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "gleepost.logs.ContextFilter"},
            "redact": {"()": "gleepost.logs.RedactingFilter"},
        },
        "formatters": {
            "text": {"()": "gleepost.logs.TextFormatter"},
            "json": {"()": "gleepost.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's defaults give these loggers handlers of their own (plain text, and with
        # DEBUG a second copy of each line): everything goes through the root's instead.
        "loggers": {
            "django": {"handlers": [], "propagate": True},
            "django.server": {"handlers": [], "propagate": True},
        },
    }


def configure(config: dict[str, Any]) -> None:
    """Django's ``LOGGING_CONFIG``: applies ``config``; in json, warnings become log records
    too (Python prints them as bare text otherwise)."""
    import logging.config

    logging.config.dictConfig(config)
    console = config["handlers"]["console"]
    logging.captureWarnings(console.get("formatter") == "json")
