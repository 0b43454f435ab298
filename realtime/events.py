"""Every event type of the websocket protocol, each built in exactly one place.

Implements the event list of ``websockets.md``: an event is ``{"type", "location", "data"}``,
serialized to JSON once here, and forwarded to each recipient as that text. ``data`` comes from
the same serializers the REST API uses, so an event and the REST response for the same object
are equal (``rest-api.md``, Conventions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from conversations.models import Conversation, Message
from conversations.serializers import conversation_data, message_data, read_data
from notifications.models import Notification
from notifications.serializers import NotificationSerializer
from videos.models import Video
from videos.serializers import VideoSerializer


@dataclass(frozen=True)
class Event:
    """One event, with its JSON text computed once at construction."""

    type: str
    location: str | None
    data: Any
    text: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        body: dict[str, Any] = {"type": self.type}
        if self.location is not None:
            body["location"] = self.location
        body["data"] = self.data
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        object.__setattr__(self, "text", text)


# The events that go on a user's stream: positioned (seq, epoch), stored, replayed on resume.
# Every other event is live-only.
STREAM_EVENT_TYPES = frozenset(
    {
        "message",
        "read",
        "new-conversation",
        "ended-conversation",
        "changed-conversation",
        "notification",
        "video-ready",
    }
)


def _conversation_location(conversation_id: int) -> str:
    return f"/conversations/{conversation_id}"


def message_event(message: Message) -> Event:
    return Event("message", _conversation_location(message.conversation_id), message_data(message))


def read_event(conversation_id: int, user_id: int, last_read: int) -> Event:
    return Event("read", _conversation_location(conversation_id), read_data(user_id, last_read))


def new_conversation_event(conversation: Conversation) -> Event:
    return Event(
        "new-conversation", _conversation_location(conversation.pk), conversation_data(conversation)
    )


def ended_conversation_event(conversation: Conversation) -> Event:
    return Event(
        "ended-conversation",
        _conversation_location(conversation.pk),
        conversation_data(conversation),
    )


def changed_conversation_event(conversation: Conversation) -> Event:
    return Event(
        "changed-conversation",
        _conversation_location(conversation.pk),
        conversation_data(conversation),
    )


def notification_event(notification: Notification) -> Event:
    return Event("notification", "/notifications", NotificationSerializer(notification).data)


def video_ready_event(video: Video) -> Event:
    return Event("video-ready", f"/videos/{video.pk}", VideoSerializer(video).data)


def views_event(post_id: int, views: int) -> Event:
    return Event("views", f"/posts/{post_id}", {"views": views})


# Events the server sends about a client's own frames (not about state changes).


def error_event(reason: str, **details: Any) -> Event:
    return Event("error", None, {"reason": reason, **details})


def resync_required_event(seq: int, epoch: str) -> Event:
    """The client's position cannot be resumed: refetch over REST, then go on from here."""
    return Event("resync-required", None, {"since": seq, "epoch": epoch})


def not_allowed_posts_event(post_ids: list[int]) -> Event:
    return Event("error", "/posts", {"reason": "not allowed", "posts": post_ids})
