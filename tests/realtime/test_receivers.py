"""A failure while building an event is logged and breaks neither the change nor other events."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import actions as conversation_actions
from conversations.models import Message
from realtime import events
from realtime.models import StreamEvent
from tests.conftest import Member

pytestmark = pytest.mark.django_db(transaction=True)


def test_failed_event_build_is_logged_and_the_change_commits(
    alice: Member, bob: Member, monkeypatch: Any, caplog: Any
) -> None:
    conversation, _ = conversation_actions.do_create_conversation(alice.user, [bob.id])

    def broken(message: Message, read_markers: Mapping[int, int]) -> events.Event:
        raise LookupError("the object went away")

    monkeypatch.setattr(events, "message_event", broken)
    with caplog.at_level(logging.ERROR, logger="realtime.receivers"):
        message = conversation_actions.do_send_message(conversation, alice.user, "still sent")
    assert Message.objects.filter(pk=message.pk).exists()
    assert "could not build the message event" in caplog.text
    assert not StreamEvent.objects.filter(type="message").exists()
    # Other events of the same users are still recorded and numbered without a hole.
    monkeypatch.undo()
    conversation_actions.do_mark_read(conversation, bob.user, message.pk)
    read = StreamEvent.objects.get(stream_id=bob.id, type="read")
    assert read.seq == 2  # 1 was new-conversation


@pytest.mark.needs_postgres
def test_failed_event_build_leaves_the_postgres_transaction_usable(
    alice: Member, bob: Member, monkeypatch: Any
) -> None:
    conversation, _ = conversation_actions.do_create_conversation(alice.user, [bob.id])

    def failing_query(message: Message, read_markers: Mapping[int, int]) -> events.Event:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
        raise AssertionError("unreachable")

    monkeypatch.setattr(events, "message_event", failing_query)
    with CaptureQueriesContext(connection):
        message = conversation_actions.do_send_message(conversation, alice.user, "still sent")
    assert Message.objects.filter(pk=message.pk).exists()
