"""The message shape: the plain builder gives exactly what MessageSerializer gives."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conversations import actions
from conversations.models import Message
from conversations.serializers import MessageSerializer, message_data, message_shape, messages_data
from tests.conftest import Member

pytestmark = pytest.mark.django_db


def serialized(message: Message, markers: dict[int, int], group: int | None) -> dict[str, Any]:
    context = {"read_markers": markers, "group": group}
    return dict(MessageSerializer(message, context=context).data)


@pytest.mark.parametrize("group", [None, 7])
@pytest.mark.parametrize("text", ["hello", '  Ünïcode ✓ "quoted" <b>\n line two'])
def test_message_shape_equals_the_serializers(
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
        expected = serialized(message, markers, group)
        shape = message_shape(message, markers, group)
        assert shape == expected
        # Same keys in the same order: the event's JSON text is what clients receive.
        assert json.dumps(shape) == json.dumps(expected)


def test_a_page_of_messages_equals_the_serializers(alice: Member, bob: Member) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    for text in ("one", "two", "three"):
        actions.do_send_message(conversation, bob.user, text)
    page = list(Message.objects.select_related("by").order_by("-id"))
    markers = {alice.id: page[1].pk, bob.id: 0}
    expected = list(
        MessageSerializer(page, many=True, context={"read_markers": markers, "group": None}).data
    )
    assert messages_data(page, markers, None) == [dict(m) for m in expected]


def test_message_data_reads_the_markers_when_not_given(alice: Member, bob: Member) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    sent = actions.do_send_message(conversation, alice.user, "hi")
    actions.do_mark_read(conversation, bob.user, sent.pk)
    message = Message.objects.select_related("by", "conversation").get(pk=sent.pk)
    assert message_data(message)["seen"] is True
