"""The ``conversations`` endpoints (rest-api.md, Conversations). Views parse; actions act."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from accounts.serializers import UserSerializer
from conversations import actions
from conversations.models import Conversation, Message, Participant, active_participant
from conversations.serializers import (
    AddParticipantsSerializer,
    ConversationDetailSerializer,
    ConversationPageSerializer,
    ConversationSerializer,
    MarkReadSerializer,
    MessagePageSerializer,
    MessageSerializer,
    UpdateConversationSerializer,
    active_participants,
    conversation_data,
    conversation_detail_data,
    message_data,
    messages_data,
    read_markers,
)
from gleepost.api import ApiView
from gleepost.conf import gp_settings
from gleepost.errors import bad_request
from gleepost.openapi import error, refusals
from gleepost.params import validated

NOT_A_PARTICIPANT = error("No such conversation, or the caller is not in it: `Not found`.")
ENDED = error("The conversation has ended: `Conversation has ended`.")


class ConversationListView(ApiView):
    @extend_schema(
        operation_id="conversations_list",
        summary="The caller's conversations",
        parameters=[ConversationPageSerializer],
        responses=ConversationSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """The caller's conversations, most recent activity first, 20 a page from ``start``."""
        user = request_user(request)
        start = validated(request, ConversationPageSerializer)["start"]
        page = list(
            Conversation.objects.filter(
                active_participant("participants__"), participants__user=user
            )
            .order_by("-last_activity", "-id")
            .prefetch_related(
                Prefetch(
                    "participants",
                    queryset=Participant.objects.active().select_related("user").order_by("id"),
                    to_attr="active",
                )
            )[start : start + gp_settings.PAGE_SIZE]
        )
        return Response([conversation_data(c, c.active) for c in page])

    @extend_schema(
        summary="Start a conversation",
        description="Sends **new-conversation** to every participant. With exactly one other "
        "participant, no `live` and no `group`, the existing regular conversation between the "
        "two is returned (200) and nothing is sent. "
        + refusals(
            "participants: must not include yourself",
            "participants: no such user <id>",
            "participants: user <id> is not a member of the group",
            "participants: at most <count> ids",
        ),
        request=ConversationSerializer,
        responses={
            201: ConversationSerializer,
            200: OpenApiResponse(ConversationSerializer, "The existing conversation."),
            404: error("`group` names a network the caller is not a member of."),
        },
    )
    def post(self, request: Request) -> Response:
        """Start a conversation (201), or return the existing regular one with that user (200).

        ``group`` = a network id makes a group conversation of that network (always new)."""
        params = validated(request, ConversationSerializer)
        conversation, created = actions.do_create_conversation(
            request_user(request),
            params["participants"],
            live=params["live"],
            group=params.get("group"),
        )
        return Response(
            conversation_data(conversation),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ConversationView(ApiView):
    @extend_schema(
        summary="One conversation, with read markers and its newest messages",
        responses={200: ConversationDetailSerializer, 404: NOT_A_PARTICIPANT},
    )
    def get(self, request: Request, conversation_id: int) -> Response:
        conversation = actions.get_conversation_for(request_user(request), conversation_id)
        return Response(conversation_detail_data(conversation, request_user(request).pk))

    @extend_schema(
        summary="Make a live conversation regular",
        description="Sends **changed-conversation** to every participant. "
        + refusals("Conversation is not live", "Conversation has ended"),
        request=UpdateConversationSerializer,
        responses={
            200: ConversationSerializer,
            400: error("Not `expiry=false`, or the conversation is not live or has ended."),
            404: NOT_A_PARTICIPANT,
        },
    )
    def put(self, request: Request, conversation_id: int) -> Response:
        """``expiry=false`` turns a live conversation into a regular one."""
        conversation = actions.get_conversation_to_change(request_user(request), conversation_id)
        if validated(request, UpdateConversationSerializer)["expiry"] is not False:
            raise bad_request("expiry: only expiry=false is supported")
        actions.do_make_regular(conversation)
        return Response(conversation_data(conversation))

    @extend_schema(
        summary="End a live conversation, or leave a regular one",
        description="A live conversation is ended: **ended-conversation** to every participant. "
        "A regular one is left by the caller, who receives none of its events from then on; "
        "the others are not notified.",
        request=None,
        responses={204: OpenApiResponse(description="Ended or left."), 404: NOT_A_PARTICIPANT},
    )
    def delete(self, request: Request, conversation_id: int) -> Response:
        conversation = actions.get_conversation_to_change(request_user(request), conversation_id)
        actions.do_delete_conversation(conversation, request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ParticipantsView(ApiView):
    @extend_schema(
        summary="Add participants",
        description="Sends **new-conversation** to each added user, and "
        "**changed-conversation** (with them) to everyone who was in it already. "
        + refusals(
            "users: no such user <id>",
            "users: user <id> is not a member of the group",
            "users: at most <count> ids",
            "users: a conversation holds at most <count> participants",
        ),
        request=AddParticipantsSerializer,
        responses={
            200: UserSerializer(many=True),
            400: error("A user who does not exist, or is not a member of a group's network."),
            403: ENDED,
            404: NOT_A_PARTICIPANT,
        },
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        """Add users; returns the participants after the change."""
        conversation = actions.get_conversation_to_change(request_user(request), conversation_id)
        user_ids = validated(request, AddParticipantsSerializer)["users"]
        actions.do_add_participants(conversation, request_user(request), user_ids)
        return Response(conversation_data(conversation)["participants"])


class MessagesView(ApiView):
    @extend_schema(
        operation_id="conversations_messages_list",
        summary="A conversation's messages, most recent first",
        parameters=[MessagePageSerializer],
        responses={200: MessageSerializer(many=True), 404: NOT_A_PARTICIPANT},
    )
    def get(self, request: Request, conversation_id: int) -> Response:
        """Messages newest first, bounded by ``after``/``before`` ids, from ``start``, ``count``."""
        conversation = actions.get_conversation_for(request_user(request), conversation_id)
        params = validated(request, MessagePageSerializer)
        after, before = params.get("after"), params.get("before")
        start, count = params["start"], params["count"]
        messages = Message.objects.filter(conversation=conversation).select_related("by")
        if after is not None:
            messages = messages.filter(pk__gt=after)
        if before is not None:
            messages = messages.filter(pk__lt=before)
        page = messages.order_by("-id")[start : start + count]
        markers = read_markers(active_participants(conversation))
        return Response(messages_data(page, markers, conversation.group_id))

    @extend_schema(
        summary="Send a message",
        description="Sends **message** to every participant, the sender's other connections "
        "included.",
        request=MessageSerializer,
        responses={201: MessageSerializer, 403: ENDED, 404: NOT_A_PARTICIPANT},
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        conversation = actions.get_conversation_to_change(request_user(request), conversation_id)
        text = validated(request, MessageSerializer)["text"]
        message = actions.do_send_message(conversation, request_user(request), text)
        return Response(message_data(message), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Mark messages read",
        description="Sends **read** to every participant when the caller's read marker moved "
        "forward (it never moves back; an unchanged one sends nothing). "
        + refusals("seen: no such message in this conversation"),
        request=MarkReadSerializer,
        responses={
            200: ConversationDetailSerializer,
            400: error("`seen` is not a message of this conversation."),
            404: NOT_A_PARTICIPANT,
        },
    )
    def put(self, request: Request, conversation_id: int) -> Response:
        """``seen`` = message id: everything up to it is read by the caller."""
        conversation = actions.get_conversation_to_change(request_user(request), conversation_id)
        message_id = validated(request, MarkReadSerializer)["seen"]
        actions.do_mark_read(conversation, request_user(request), message_id)
        return Response(conversation_detail_data(conversation, request_user(request).pk))
