"""Every event type of the websocket protocol, each built in exactly one place.

Implements the event list of ``websockets.md``: an event is ``{"type", "location", "data"}``,
serialized to JSON once here, and forwarded to each recipient as that text. ``data`` comes from
the same serializers the REST API uses, so an event and the REST response for the same object
are equal (``rest-api.md``, Conventions).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rest_framework import serializers

from accounts.serializers import PresenceSerializer, presence_data
from conversations.models import Conversation, Message
from conversations.serializers import conversation_data, message_data, read_data
from notifications.models import Notification
from notifications.serializers import NotificationSerializer
from posts.models import Comment, Post
from posts.serializers import CommentSerializer, PostSerializer
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


def message_event(message: Message, read_markers: Mapping[int, int] | None = None) -> Event:
    """``read_markers``: the conversation's, when the caller has them (they decide ``seen``)."""
    return Event(
        "message",
        _conversation_location(message.conversation_id),
        message_data(message, read_markers),
    )


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


# Live-only events (issue 4, the protocol's later events): sent to whoever is connected and
# concerned at that moment, never recorded on a stream, never replayed, no seq or epoch.


# The ``data`` of the events that carry no REST resource, declared as the resources are (their
# schemas in docs/asyncapi.yaml are compared with these, field by field: test_event_shapes.py).


class ViewsData(serializers.Serializer[Any]):
    """``views``: how many times the post has been viewed."""

    views = serializers.IntegerField(min_value=0)


class TypingData(serializers.Serializer[Any]):
    """``typing``: who started or stopped typing, in which conversation."""

    user = serializers.IntegerField()
    conversation = serializers.IntegerField()
    typing = serializers.BooleanField()


class PresenceData(PresenceSerializer):
    """``presence``: the user, and their presence as ``GET user/{id}`` shows it."""

    user = serializers.IntegerField(source="pk")


def views_event(post_id: int, views: int) -> Event:
    return Event("views", f"/posts/{post_id}", ViewsData({"views": views}).data)


def comment_event(comment: Comment) -> Event:
    """To the subscribers of the post; ``data`` as ``POST posts/{id}/comments`` returns it."""
    return Event("comment", f"/posts/{comment.post_id}", CommentSerializer(comment).data)


def post_event(post: Post) -> Event:
    """To the subscribers of the post's network; ``data`` as ``GET posts/{id}`` returns it."""
    return Event("post", f"/networks/{post.network_id}/posts", PostSerializer(post).data)


def typing_event(conversation_id: int, user_id: int, typing: bool) -> Event:
    """To the other participants of the conversation (not the typing user's connections)."""
    return Event(
        "typing",
        _conversation_location(conversation_id),
        TypingData({"user": user_id, "conversation": conversation_id, "typing": typing}).data,
    )


def presence_event(user_id: int, form: str, at: datetime) -> Event:
    """To everyone who shares an open conversation with the user; ``form``/``at`` as the
    ``presence`` of ``GET user/{id}`` (``PresenceData`` of the user, built from what the
    signal carries rather than from a User row)."""
    return Event("presence", f"/user/{user_id}", {"user": user_id, **presence_data(form, at)})


# Events the server sends about a client's own frames (not about state changes).


def error_event(reason: str, **details: Any) -> Event:
    return Event("error", None, {"reason": reason, **details})


def resync_required_event(seq: int, epoch: str) -> Event:
    """The client's position cannot be resumed: refetch over REST, then go on from here."""
    return Event("resync-required", None, {"since": seq, "epoch": epoch})


def not_allowed_posts_event(post_ids: list[int]) -> Event:
    return Event("error", "/posts", {"reason": "not allowed", "posts": post_ids})


def not_allowed_networks_event(network_ids: list[int]) -> Event:
    """The same answer for a network that does not exist and one the user is not in."""
    return Event("error", "/networks", {"reason": "not allowed", "networks": network_ids})


def conversation_refused_event(conversation_id: int, reason: str) -> Event:
    """A ``typing`` frame about a conversation the user may not type in: ``not allowed``
    (not a participant, or no such conversation) or ``conversation has ended``."""
    return Event(
        "error",
        _conversation_location(conversation_id),
        {"reason": reason, "conversation": conversation_id},
    )
