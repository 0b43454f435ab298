"""The message shape: MessageSerializer's fast rendering gives exactly its declared fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework import serializers

from conversations import actions
from conversations.models import Message
from conversations.serializers import MessageSerializer, message_data, messages_data
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
