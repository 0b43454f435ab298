"""Parsing and validating what a client sends (``websockets.md``, Post events; issue 4's
RESUME, network subscriptions, typing and presence).

A pure function of the frame: it never touches the database or the connection, so it can be
property-tested on its own. Every malformed frame becomes a ``FrameError`` with a reason the
client is told; nothing a client sends raises anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gleepost.json_depth import TOO_DEEP, nests_deeper_than

MAX_FRAME_BYTES = 64 * 1024
MAX_POSTS_PER_FRAME = 1000
MAX_NETWORKS_PER_FRAME = 100
# Far beyond any real id; larger numbers are malformed rather than unknown.
MAX_ID = 2**53
MAX_EPOCH_CHARS = 32
# The forms of accounts.models.PresenceForm, repeated here so parsing needs no Django.
PRESENCE_FORMS = ("desktop", "mobile")


class FrameError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Subscribe:
    posts: tuple[int, ...]
    networks: tuple[int, ...] = ()


@dataclass(frozen=True)
class Unsubscribe:
    """Leave ``posts`` and ``networks``; ``everything``: leave everything and close.

    ``everything`` is the protocol's ``{"action":"UNSUBSCRIBE","posts":[]}``, with ``networks``
    absent or empty too. An empty ``networks`` without ``posts`` leaves nothing.
    """

    posts: tuple[int, ...]
    networks: tuple[int, ...] = ()
    everything: bool = False


@dataclass(frozen=True)
class Resume:
    """Replay the user's stream after position ``since`` of ``epoch``."""

    since: int
    epoch: str


@dataclass(frozen=True)
class Typing:
    """The user is (or stopped) typing in a conversation."""

    conversation: int
    typing: bool


@dataclass(frozen=True)
class Presence:
    """The user is present on a device of this form (one of PRESENCE_FORMS)."""

    form: str


Action = Subscribe | Unsubscribe | Resume | Typing | Presence


def parse_frame(text: str | None, data: bytes | None) -> Action:
    """The action a client frame asks for, or FrameError."""
    if text is None:
        raise FrameError("binary frames are not supported; send JSON text")
    if len(text) > MAX_FRAME_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise FrameError(f"frame too large (at most {MAX_FRAME_BYTES} bytes)")
    if nests_deeper_than(text):
        raise FrameError(TOO_DEEP)
    try:
        body = json.loads(text)
    except ValueError:
        raise FrameError("not valid JSON") from None
    except RecursionError:
        # Only a caller already within MAX_JSON_DEPTH frames of the recursion limit gets here.
        raise FrameError(TOO_DEEP) from None
    if not isinstance(body, dict):
        raise FrameError("a frame must be a JSON object")
    action = body.get("action")
    # ASCII only: str.upper() also maps the long s (U+017F) to "S" and the dotless i (U+0131)
    # to "I", and "\u017fubscribe" is no letter case of SUBSCRIBE (nor would a filter in front
    # of the service read it as one).
    name = action.upper() if isinstance(action, str) and action.isascii() else None
    if name == "SUBSCRIBE":
        posts, networks = _targets(body)
        return Subscribe(posts, networks)
    if name == "UNSUBSCRIBE":
        return _unsubscribe(body)
    if name == "RESUME":
        return Resume(parse_since(body.get("since")), parse_epoch(body.get("epoch")))
    if name == "TYPING":
        return Typing(_id(body.get("conversation"), "conversation"), _flag(body.get("typing")))
    if name == "PRESENCE":
        return Presence(_form(body.get("form")))
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


def parse_subscribe_query(posts: str | None, networks: str | None) -> Subscribe | None:
    """The subscriptions an HTTP event stream's URL asks for (``?posts=1,2&networks=4``): the
    same rules as a SUBSCRIBE frame's lists; None when it asks for none."""
    if not posts and not networks:
        return None
    return Subscribe(
        _ids(_id_list(posts), "posts", MAX_POSTS_PER_FRAME),
        _ids(_id_list(networks), "networks", MAX_NETWORKS_PER_FRAME),
    )


def _id_list(text: str | None) -> list[Any]:
    """Comma-separated decimal ids, as ints; anything else is left for ``_ids`` to refuse."""
    if not text:
        return []
    return [
        int(item) if item.isascii() and item.isdigit() and len(item) < 17 else item
        for item in text.split(",")
    ]


def parse_last_event_id(value: str) -> tuple[int, str]:
    """An SSE ``Last-Event-ID`` (``<epoch>:<seq>``, realtime.consumer.streams) as the position
    it names: (since, epoch)."""
    epoch, separator, since = value.rpartition(":")
    if not separator:
        raise FrameError("Last-Event-ID must be <epoch>:<seq>")
    return parse_since(since), parse_epoch(epoch)


def _targets(body: dict[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``posts`` and ``networks`` of a (UN)SUBSCRIBE: either may be absent, not both."""
    if "posts" not in body and "networks" not in body:
        raise FrameError("give a list of posts or networks (or both)")
    posts = _ids(body["posts"], "posts", MAX_POSTS_PER_FRAME) if "posts" in body else ()
    networks = (
        _ids(body["networks"], "networks", MAX_NETWORKS_PER_FRAME) if "networks" in body else ()
    )
    return posts, networks


def _unsubscribe(body: dict[str, Any]) -> Unsubscribe:
    posts, networks = _targets(body)
    everything = "posts" in body and not posts and not networks
    return Unsubscribe(posts, networks, everything)


def _ids(value: Any, name: str, max_count: int) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise FrameError(f"{name} must be a list of ids")
    if len(value) > max_count:
        raise FrameError(f"at most {max_count} {name} per frame")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < MAX_ID:
            raise FrameError(f"{name} must be a list of positive integers")
    return tuple(dict.fromkeys(value))


def _id(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < MAX_ID:
        raise FrameError(f"{name} must be a positive integer")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FrameError("typing must be true or false")
    return value


def _form(value: Any) -> str:
    if not isinstance(value, str) or value not in PRESENCE_FORMS:
        raise FrameError("form must be desktop or mobile")
    return value
