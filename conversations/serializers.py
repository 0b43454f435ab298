"""Conversation, message and read shapes (rest-api.md, Shapes), shared with websocket events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserSerializer, UsersField, user_data
from conversations.models import Conversation, Message, Participant
from gleepost.conf import DEFAULTS, gp_settings
from gleepost.fields import BoolField, BoundedIntField, FalseField, IdField, IdListField, TextField
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


class ExpirySerializer(serializers.Serializer[Conversation]):
    """When a live conversation ends, and whether it has."""

    time = serializers.DateTimeField(
        source="expiry_time", read_only=True, help_text="When the server ends the conversation."
    )
    ended = serializers.BooleanField(source="has_ended", read_only=True)


class ParticipantsField(UsersField):
    """Read: the participants who have not left, as users. Written (starting a conversation):
    the other users' ids."""

    def __init__(self, **kwargs: Any) -> None:
        max_count = lambda: gp_settings.MAX_CONVERSATION_PARTICIPANTS  # noqa: E731
        super().__init__(source="*", max_count=max_count, **kwargs)

    # source="*": given the conversation, not a list of users.
    def to_representation(self, value: Conversation) -> list[dict[str, Any]]:
        return [user_data(p.user) for p in active_participants(value)]


@omitted_when_absent("group", "expiry")
class ConversationSerializer(serializers.Serializer[Conversation]):
    """A conversation, as its events carry it: ``participants`` are those who have not left;
    ``group`` and ``expiry`` only where they apply. Starting one takes ``participants`` (the
    others' ids), ``live`` and ``group``."""

    id = serializers.IntegerField(read_only=True)
    lastActivity = serializers.DateTimeField(source="last_activity", read_only=True)
    participants = ParticipantsField(
        help_text="Comma-separated user ids, e.g. `2,3` (a JSON body may send a list of ids): "
        f"1 to {DEFAULTS['MAX_CONVERSATION_PARTICIPANTS']} users, not the caller. Answered: "
        "the participants who have not left."
    )
    live = BoolField(
        write_only=True,
        required=False,
        default=False,
        help_text="`true` makes a live conversation that ends after "
        f"{DEFAULTS['LIVE_CONVERSATION_MINUTES']} minutes.",
    )
    group = IdField(
        source="group_id",
        required=False,
        help_text="The network of a group conversation (absent otherwise); given, a new group "
        "conversation of that network's members.",
    )
    expiry = ExpirySerializer(source="*", read_only=True, help_text="Only on a live one.")

    def to_representation(self, instance: Conversation) -> dict[str, Any]:
        return self.render(instance, self.context.get("participants"))

    @staticmethod
    def render(
        conversation: Conversation, participants: list[Participant] | None = None
    ) -> dict[str, Any]:
        """The declared fields' values built directly (tests/conversations/test_serializers.py
        checks them against the declaration); ``participants``, when the caller has them
        loaded, are the active ones, oldest first."""
        if participants is None:
            participants = active_participants(conversation)
        data: dict[str, Any] = {
            "id": conversation.pk,
            "lastActivity": format_time(conversation.last_activity),
            "participants": [user_data(p.user) for p in participants],
        }
        if conversation.group_id is not None:
            data["group"] = conversation.group_id
        if conversation.expiry_time is not None:
            data["expiry"] = {
                "time": format_time(conversation.expiry_time),
                "ended": conversation.has_ended,
            }
        return data


class ReadSerializer(serializers.Serializer[Any]):
    """A participant's read marker: the ``read`` event, and an entry of a conversation's
    ``read``."""

    user = serializers.IntegerField(read_only=True)
    last_read = serializers.IntegerField(
        read_only=True, help_text="The id of the last message the user read."
    )


class ConversationDetailSerializer(ConversationSerializer):
    """One conversation with its read markers, its newest messages and the caller's unread
    count."""

    # Renders with ``user_id`` (the caller's) in the context.

    read = ReadSerializer(many=True, read_only=True, help_text="Participants who have read.")
    messages = MessageSerializer(
        many=True, read_only=True, help_text="The newest page, most recent first."
    )
    unread = serializers.IntegerField(
        read_only=True, help_text="Messages from others the caller has not read."
    )

    def to_representation(self, instance: Conversation) -> dict[str, Any]:
        return conversation_detail_data(instance, self.context["user_id"])


# Deeper offsets than this are refused: clients page with ids instead.
MAX_OFFSET = 1_000_000


class ConversationPageSerializer(serializers.Serializer[Any]):
    """Which page of the caller's conversations (query string)."""

    start = BoundedIntField(
        minimum=0, maximum=MAX_OFFSET, default=0, help_text="How many to skip; default 0."
    )


class MessagePageSerializer(ConversationPageSerializer):
    """Which of a conversation's messages (query string)."""

    after = IdField(required=False, help_text="Only messages with a greater id.")
    before = IdField(required=False, help_text="Only messages with a smaller id.")
    count = BoundedIntField(
        minimum=1,
        maximum=lambda: gp_settings.MAX_MESSAGES_PAGE,
        default=lambda: gp_settings.PAGE_SIZE,
        help_text=f"How many; default {DEFAULTS['PAGE_SIZE']}.",
    )


class AddParticipantsSerializer(serializers.Serializer[Any]):
    """Adding users to a conversation."""

    users = IdListField(
        max_count=lambda: gp_settings.MAX_CONVERSATION_PARTICIPANTS,
        help_text="Comma-separated user ids, e.g. `2,3` (a JSON body may send a list of ids).",
    )


class UpdateConversationSerializer(serializers.Serializer[Any]):
    """Making a live conversation regular."""

    expiry = FalseField(help_text="Only `false`: make a live conversation regular.")


class MarkReadSerializer(serializers.Serializer[Any]):
    """Moving the caller's read marker."""

    seen = IdField(help_text="A message id: everything up to it is read.")


def conversation_data(
    conversation: Conversation, participants: list[Participant] | None = None
) -> dict[str, Any]:
    """``ConversationSerializer``'s shape of ``conversation``."""
    return ConversationSerializer.render(conversation, participants)


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
    same object.
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
    """``ReadSerializer``'s shape: the ``read`` event's data, an entry of ``read``."""
    return {"user": user_id, "last_read": last_read}


def conversation_detail_data(conversation: Conversation, user_id: int) -> dict[str, Any]:
    """``ConversationDetailSerializer``'s shape: GET of one conversation."""
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
