"""Conversation, message and read shapes (rest-api.md, Shapes), shared with websocket events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserSerializer, user_data
from conversations.models import Conversation, Message, Participant
from gleepost.conf import gp_settings
from gleepost.fields import TextField
from gleepost.openapi import omitted_when_absent
from gleepost.times import format_time


def active_participants(conversation: Conversation) -> list[Participant]:
    """The participants who have not left, oldest first, with their users loaded."""
    return list(conversation.participants.active().select_related("user").order_by("id"))


def read_markers(participants: Iterable[Participant]) -> dict[int, int]:
    return {p.user_id: p.last_read for p in participants}


def is_seen(message: Message, markers: Mapping[int, int]) -> bool:
    """True once every participant other than the sender has read up to or past the message."""
    return all(last >= message.pk for user_id, last in markers.items() if user_id != message.by_id)


@omitted_when_absent("group")
class MessageSerializer(serializers.ModelSerializer[Message]):
    """A message: ``id``, ``by`` (its sender), ``text``, ``timestamp`` and ``seen`` (true once
    every other participant has read it), plus ``group`` (the network's id) in a group
    conversation."""

    by = UserSerializer(read_only=True)
    text = TextField(max_length=lambda: gp_settings.MAX_MESSAGE_CHARS)
    seen = serializers.SerializerMethodField(
        help_text="True once every other participant has read up to or past it."
    )
    group = serializers.SerializerMethodField(
        help_text="The network of a group conversation; absent otherwise."
    )

    class Meta:
        model = Message
        fields = ["id", "by", "text", "timestamp", "seen", "group"]
        read_only_fields = ["id", "timestamp"]

    # To render, the context holds ``read_markers`` (the conversation's) and ``group`` (its
    # network's id, or None).

    def get_seen(self, message: Message) -> bool:
        return is_seen(message, self.context["read_markers"])

    @extend_schema_field(OpenApiTypes.INT)
    def get_group(self, message: Message) -> int | None:
        return cast(int | None, self.context["group"])

    def to_representation(self, instance: Message) -> dict[str, Any]:
        context = self.context
        return self.render(instance, context["read_markers"], context["group"])

    @staticmethod
    def render(
        message: Message, read_markers: Mapping[int, int], group: int | None
    ) -> dict[str, Any]:
        """The declared fields' values without DRF's per-field pass, or a serializer at all:
        every message sent and every page of messages is built here, and that pass cost more
        than all of a send's queries together (bench/README.md).
        tests/conversations/test_serializers.py checks it field by field against the
        declaration."""
        data = {
            "id": message.pk,
            "by": user_data(message.by),
            "text": message.text,
            "timestamp": format_time(message.timestamp),
            "seen": is_seen(message, read_markers),
        }
        if group is not None:
            data["group"] = group
        return data


def conversation_data(
    conversation: Conversation, participants: list[Participant] | None = None
) -> dict[str, Any]:
    """The conversation shape: id, lastActivity, participants, expiry when live, and the
    network id as ``group`` for a group conversation."""
    if participants is None:
        participants = active_participants(conversation)
    data: dict[str, Any] = {
        "id": conversation.pk,
        "lastActivity": format_time(conversation.last_activity),
        "participants": UserSerializer([p.user for p in participants], many=True).data,
    }
    if conversation.group_id is not None:
        data["group"] = conversation.group_id
    if conversation.expiry_time is not None:
        data["expiry"] = {
            "time": format_time(conversation.expiry_time),
            "ended": conversation.has_ended,
        }
    return data


def messages_data(
    messages: Sequence[Message] | QuerySet[Message],
    markers: Mapping[int, int],
    group: int | None,
) -> list[Any]:
    """Messages of one conversation; ``group`` is its network id (None if not a group one)."""
    render = MessageSerializer.render
    return [render(message, markers, group) for message in messages]


def message_data(message: Message, markers: Mapping[int, int] | None = None) -> dict[str, Any]:
    """One message, as POST .../messages returns it and the ``message`` event carries it;
    ``markers`` are the conversation's read markers (read here when not given).

    Kept on the instance: sending a message builds the event and the POST's answer from the
    same object, and each build costs a serializer pass (bench/results).
    """
    cached: dict[str, Any] | None = getattr(message, "_message_data", None)
    if cached is None:
        conversation = message.conversation
        if markers is None:
            markers = read_markers(active_participants(conversation))
        cached = MessageSerializer.render(message, markers, conversation.group_id)
        message._message_data = cached  # type: ignore[attr-defined]
    return dict(cached)


def read_data(user_id: int, last_read: int) -> dict[str, int]:
    """The payload of a ``read`` event and of one entry of a conversation's ``read`` list."""
    return {"user": user_id, "last_read": last_read}


def conversation_detail_data(conversation: Conversation, user_id: int) -> dict[str, Any]:
    """GET of one conversation: the shape plus ``read``, the newest messages and ``unread``."""
    participants = active_participants(conversation)
    markers = read_markers(participants)
    recent = (
        Message.objects.filter(conversation=conversation)
        .select_related("by")
        .order_by("-id")[: gp_settings.PAGE_SIZE]
    )
    unread = (
        Message.objects.filter(conversation=conversation, pk__gt=markers.get(user_id, 0))
        .exclude(by_id=user_id)
        .count()
    )
    return {
        **conversation_data(conversation, participants),
        "read": [read_data(uid, last) for uid, last in markers.items() if last > 0],
        "messages": messages_data(recent, markers, conversation.group_id),
        "unread": unread,
    }
