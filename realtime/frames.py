"""Parsing and validating what a client sends (``websockets.md``, Post events).

A pure function of the frame: it never touches the database or the connection, so it can be
property-tested on its own. Every malformed frame becomes a ``FrameError`` with a reason the
client is told; nothing a client sends raises anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_FRAME_BYTES = 64 * 1024
MAX_POSTS_PER_FRAME = 1000
# Far beyond any real id; larger numbers are malformed rather than unknown.
MAX_ID = 2**53


class FrameError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Subscribe:
    posts: tuple[int, ...]


@dataclass(frozen=True)
class Unsubscribe:
    """``posts`` empty means: leave everything and close (the protocol's rule)."""

    posts: tuple[int, ...]


@dataclass(frozen=True)
class Resume:
    """Replay the user's stream after position ``since`` of ``epoch``."""

    since: int
    epoch: str


Action = Subscribe | Unsubscribe | Resume

MAX_EPOCH_CHARS = 32


def parse_frame(text: str | None, data: bytes | None) -> Action:
    """The action a client frame asks for, or FrameError."""
    if text is None:
        raise FrameError("binary frames are not supported; send JSON text")
    if len(text) > MAX_FRAME_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise FrameError(f"frame too large (at most {MAX_FRAME_BYTES} bytes)")
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise FrameError("not valid JSON") from None
    if not isinstance(body, dict):
        raise FrameError("a frame must be a JSON object")
    action = body.get("action")
    name = action.upper() if isinstance(action, str) else None
    if name == "SUBSCRIBE":
        return Subscribe(_post_ids(body.get("posts")))
    if name == "UNSUBSCRIBE":
        return Unsubscribe(_post_ids(body.get("posts")))
    if name == "RESUME":
        return Resume(parse_since(body.get("since")), parse_epoch(body.get("epoch")))
    raise FrameError("unknown action")


def parse_since(value: Any) -> int:
    """A stream position: a non-negative integer (a JSON number or its decimal text)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 17:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_ID:
        raise FrameError("since must be a non-negative integer")
    return value


def parse_epoch(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_EPOCH_CHARS:
        raise FrameError("epoch must be a non-empty string")
    return value


def _post_ids(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise FrameError("posts must be a list of post ids")
    if len(value) > MAX_POSTS_PER_FRAME:
        raise FrameError(f"at most {MAX_POSTS_PER_FRAME} posts per frame")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < MAX_ID:
            raise FrameError("posts must be a list of positive integers")
    return tuple(dict.fromkeys(value))
