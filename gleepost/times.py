"""Times as the API writes them: RFC 3339, UTC, microseconds, ``Z`` suffix."""

from __future__ import annotations

from datetime import UTC, datetime

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(value: datetime) -> str:
    """``2013-12-12T15:20:54.665361Z`` for an aware datetime."""
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(value: str) -> datetime | None:
    """An aware datetime from an RFC 3339 string, or None when it is not one."""
    text = value.strip()
    if not 10 <= len(text) <= 40:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python's parser takes at most 6 fractional digits; Go clients send 9.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        rest = rest[: min(digits, 6)] + rest[digits:]
        text = f"{head}.{rest}" if digits else head + rest
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            return None
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        # OverflowError: a time whose UTC falls outside years 1 to 9999.
        return None
