"""The message shape: MessageSerializer's fast rendering gives exactly its declared fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework import serializers

from accounts.serializers import UserSerializer
from conversations import actions
from conversations.models import Conversation, Message
from conversations.serializers import (
    ConversationDetailSerializer,
    ConversationSerializer,
    MessageSerializer,
    ReadSerializer,
    message_data,
    messages_data,
)
from posts import actions as post_actions
from tests.conftest import Member

pytestmark = pytest.mark.django_db


def declared(message: Message, markers: dict[int, int], group: int | None) -> dict[str, Any]:
    """What DRF's own pass over the declared fields makes of ``message``, ``group`` left out
    where it is None (``omitted_when_absent``)."""
    serializer = MessageSerializer(context={"read_markers": markers, "group": group})
    data = dict(serializers.ModelSerializer.to_representation(serializer, message))
    if data["group"] is None:
        del data["group"]
    return data


@pytest.mark.parametrize("group", [None, 7])
@pytest.mark.parametrize("text", ["hello", '  Ünïcode ✓ "quoted" <b>\n line two'])
def test_the_fast_rendering_gives_each_declared_field_and_no_other(
    alice: Member, bob: Member, carol: Member, group: int | None, text: str
) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id, carol.id])
    sent = actions.do_send_message(conversation, alice.user, text)
    message = Message.objects.select_related("by").get(pk=sent.pk)
    for markers in (
        {alice.id: 0, bob.id: 0, carol.id: 0},
        {alice.id: 0, bob.id: message.pk, carol.id: 0},
        {alice.id: 0, bob.id: message.pk, carol.id: message.pk + 1},
        {alice.id: 0},
    ):
        expected = declared(message, markers, group)
        context = {"read_markers": markers, "group": group}
        rendered = MessageSerializer(message, context=context).data
        assert rendered == expected
        # Same keys in the same order: the event's JSON text is what clients receive.
        assert json.dumps(rendered) == json.dumps(expected)
    assert list(MessageSerializer().fields) == ["id", "by", "text", "timestamp", "seen", "group"]


def test_a_page_of_messages_is_each_message_rendered(alice: Member, bob: Member) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    for text in ("one", "two", "three"):
        actions.do_send_message(conversation, bob.user, text)
    page = list(Message.objects.select_related("by").order_by("-id"))
    markers = {alice.id: page[1].pk, bob.id: 0}
    expected = [declared(message, markers, None) for message in page]
    assert messages_data(page, markers, None) == expected
    assert [m["seen"] for m in expected] == [False, True, True]


def test_message_data_reads_the_markers_when_not_given(alice: Member, bob: Member) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    sent = actions.do_send_message(conversation, alice.user, "hi")
    actions.do_mark_read(conversation, bob.user, sent.pk)
    message = Message.objects.select_related("by", "conversation").get(pk=sent.pk)
    assert message_data(message)["seen"] is True


def declared_conversation(conversation: Conversation) -> dict[str, Any]:
    """DRF's own pass over ConversationSerializer's declared fields, ``group`` and ``expiry``
    left out where they do not apply (``omitted_when_absent``)."""
    data = dict(serializers.Serializer.to_representation(ConversationSerializer(), conversation))
    if data["group"] is None:
        del data["group"]
    if data["expiry"]["time"] is None:
        del data["expiry"]
    else:
        data["expiry"] = dict(data["expiry"])
    return data


def test_the_conversation_is_rendered_as_declared(
    alice: Member, bob: Member, carol: Member
) -> None:
    network = post_actions.do_create_network(alice.user, "Campus")
    post_actions.do_add_network_members(network, alice.user, [bob.id])
    regular, _ = actions.do_create_conversation(alice.user, [bob.id])
    live, _ = actions.do_create_conversation(alice.user, [bob.id, carol.id], live=True)
    group, _ = actions.do_create_conversation(alice.user, [bob.id], group=network.pk)
    actions.do_end_conversation(live)
    seen = set()
    for conversation in (regular, live, group):
        conversation = Conversation.objects.get(pk=conversation.pk)
        expected = declared_conversation(conversation)
        rendered = ConversationSerializer(conversation).data
        assert json.dumps(rendered) == json.dumps(expected)
        assert rendered["participants"][0] == UserSerializer(alice.user).data
        seen |= set(rendered)
    # Every readable field is rendered by some conversation; the written one (live) by none.
    readable = {name for name, f in ConversationSerializer().fields.items() if not f.write_only}
    assert seen == readable == {"id", "lastActivity", "participants", "group", "expiry"}


def test_the_conversation_detail_is_the_conversation_and_the_declared_rest(
    alice: Member, bob: Member
) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    sent = actions.do_send_message(conversation, bob.user, "hi")
    actions.do_mark_read(conversation, alice.user, sent.pk)
    detail = ConversationDetailSerializer(conversation, context={"user_id": alice.id}).data
    assert list(detail) == [*declared_conversation(conversation), "read", "messages", "unread"]
    readable = [n for n, f in ConversationDetailSerializer().fields.items() if not f.write_only]
    assert [name for name in readable if name not in {"group", "expiry"}] == list(detail)
    assert detail["read"] == [{"user": alice.id, "last_read": sent.pk}]
    assert ReadSerializer(detail["read"][0]).data == detail["read"][0]
    assert [m["text"] for m in detail["messages"]] == ["hi"]
    assert detail["unread"] == 0
