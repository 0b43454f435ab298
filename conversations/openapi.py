"""OpenAPI shapes of the conversations endpoints (rest-api.md, Conversations) that the views
read or build by hand (``conversations.serializers.conversation_data`` and friends)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.serializers import UserSerializer
from conversations.serializers import MessageSerializer
from gleepost.conf import DEFAULTS
from gleepost.openapi import FalseField, id_field, ids_field

IDS_HELP = "Comma-separated user ids, e.g. `2,3` (a JSON body may send a list of ids)."


class ExpirySerializer(serializers.Serializer[Any]):
    time = serializers.DateTimeField(help_text="When the server ends the conversation.")
    ended = serializers.BooleanField()


class ConversationSerializer(serializers.Serializer[Any]):
    """A conversation, as ``new-conversation`` and the other conversation events carry it."""

    id = serializers.IntegerField()
    lastActivity = serializers.DateTimeField()
    participants = UserSerializer(many=True)
    group = id_field(
        required=False, help_text="The network of a group conversation; absent otherwise."
    )
    expiry = ExpirySerializer(required=False, help_text="Only on a live conversation.")


class ReadSerializer(serializers.Serializer[Any]):
    user = serializers.IntegerField()
    last_read = serializers.IntegerField(help_text="The id of the last message the user read.")


class ConversationDetailSerializer(ConversationSerializer):
    """One conversation with its read markers, its newest messages and the caller's unread
    count."""

    read = ReadSerializer(many=True, help_text="Participants who have read something.")
    messages = MessageSerializer(many=True, help_text="The newest page, most recent first.")
    unread = serializers.IntegerField(help_text="Messages from others the caller has not read.")


class CreateConversationSerializer(serializers.Serializer[Any]):
    participants = ids_field(
        help_text=f"{IDS_HELP} 1 to {DEFAULTS['MAX_CONVERSATION_PARTICIPANTS']} users, not the "
        "caller."
    )
    live = serializers.BooleanField(
        required=False,
        default=False,
        help_text="`true` makes a live conversation that ends after "
        f"{DEFAULTS['LIVE_CONVERSATION_MINUTES']} minutes.",
    )
    group = id_field(
        required=False,
        help_text="A network id: a new group conversation of that network's members.",
    )


class UpdateConversationSerializer(serializers.Serializer[Any]):
    expiry = FalseField(help_text="Only `false`: make a live conversation regular.")


class AddParticipantsSerializer(serializers.Serializer[Any]):
    users = ids_field(help_text=IDS_HELP)


class MarkReadSerializer(serializers.Serializer[Any]):
    seen = id_field(help_text="A message id: everything up to it is read.")
