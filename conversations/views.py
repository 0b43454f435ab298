"""The ``conversations`` endpoints (rest-api.md, Conversations). Views parse; actions act."""

from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from conversations import actions
from conversations.models import Conversation, Message, Participant
from conversations.serializers import (
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
from gleepost.params import bool_param, id_list_param, id_param, int_param, string_param

MAX_OFFSET = 1_000_000


class ConversationListView(ApiView):
    def get(self, request: Request) -> Response:
        """The caller's conversations, most recent activity first, 20 a page from ``start``."""
        user = request_user(request)
        start = int_param(request, "start", default=0, minimum=0, maximum=MAX_OFFSET)
        page = list(
            Conversation.objects.filter(participants__user=user, participants__left_at__isnull=True)
            .order_by("-last_activity", "-id")
            .prefetch_related(
                Prefetch(
                    "participants",
                    queryset=Participant.objects.filter(left_at__isnull=True)
                    .select_related("user")
                    .order_by("id"),
                    to_attr="active",
                )
            )[start : start + gp_settings.PAGE_SIZE]
        )
        for conversation in page:
            if conversation.is_past_expiry and not conversation.ended:
                actions.do_end_conversation(conversation)
        return Response([conversation_data(c, c.active) for c in page])

    def post(self, request: Request) -> Response:
        """Start a conversation (201), or return the existing regular one with that user (200).

        ``group`` = a network id makes a group conversation of that network (always new)."""
        participant_ids = id_list_param(
            request, "participants", max_count=gp_settings.MAX_CONVERSATION_PARTICIPANTS
        )
        live = bool_param(request, "live", required=False) or False
        group = id_param(request, "group", required=False)
        conversation, created = actions.do_create_conversation(
            request_user(request), participant_ids, live=live, group=group
        )
        return Response(
            conversation_data(conversation),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ConversationView(ApiView):
    def get(self, request: Request, conversation_id: int) -> Response:
        conversation = actions.get_conversation_for(request_user(request), conversation_id)
        return Response(conversation_detail_data(conversation, request_user(request).pk))

    def put(self, request: Request, conversation_id: int) -> Response:
        """``expiry=false`` turns a live conversation into a regular one."""
        conversation = actions.get_conversation_for(request_user(request), conversation_id)
        if bool_param(request, "expiry") is not False:
            raise bad_request("expiry: only expiry=false is supported")
        actions.do_make_regular(conversation)
        return Response(conversation_data(conversation))

    def delete(self, request: Request, conversation_id: int) -> Response:
        conversation = actions.get_conversation_for(request_user(request), conversation_id)
        actions.do_delete_conversation(conversation, request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ParticipantsView(ApiView):
    def post(self, request: Request, conversation_id: int) -> Response:
        """Add users; returns the participants after the change."""
        conversation = actions.get_conversation_for(request_user(request), conversation_id)
        user_ids = id_list_param(
            request, "users", max_count=gp_settings.MAX_CONVERSATION_PARTICIPANTS
        )
        actions.do_add_participants(conversation, request_user(request), user_ids)
        return Response(conversation_data(conversation)["participants"])


class MessagesView(ApiView):
    def get(self, request: Request, conversation_id: int) -> Response:
        """Messages newest first, bounded by ``after``/``before`` ids, from ``start``, ``count``."""
        conversation = actions.get_conversation_for(request_user(request), conversation_id)
        after = id_param(request, "after", required=False)
        before = id_param(request, "before", required=False)
        start = int_param(request, "start", default=0, minimum=0, maximum=MAX_OFFSET)
        count = int_param(
            request,
            "count",
            default=gp_settings.PAGE_SIZE,
            minimum=1,
            maximum=gp_settings.MAX_MESSAGES_PAGE,
        )
        messages = Message.objects.filter(conversation=conversation).select_related("by")
        if after is not None:
            messages = messages.filter(pk__gt=after)
        if before is not None:
            messages = messages.filter(pk__lt=before)
        page = messages.order_by("-id")[start : start + count]
        markers = read_markers(active_participants(conversation))
        return Response(messages_data(page, markers, conversation.group_id))

    def post(self, request: Request, conversation_id: int) -> Response:
        conversation = actions.get_conversation_for(request_user(request), conversation_id)
        text = string_param(request, "text", max_chars=gp_settings.MAX_MESSAGE_CHARS)
        assert text is not None
        message = actions.do_send_message(conversation, request_user(request), text)
        return Response(message_data(message), status=status.HTTP_201_CREATED)

    def put(self, request: Request, conversation_id: int) -> Response:
        """``seen`` = message id: everything up to it is read by the caller."""
        conversation = actions.get_conversation_for(request_user(request), conversation_id)
        message_id = id_param(request, "seen")
        assert message_id is not None
        actions.do_mark_read(conversation, request_user(request), message_id)
        return Response(conversation_detail_data(conversation, request_user(request).pk))
