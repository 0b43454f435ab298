"""Who hears about what (realtime.receivers): a failure while building an event is logged and
breaks neither the change nor other events; a user who left a conversation hears nothing more
of it; a change that is rolled back sends nothing."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import actions as conversation_actions
from conversations.models import Conversation, Message
from realtime import events
from realtime.history import current_position
from realtime.models import StreamEvent
from tests.conftest import Member
from tests.realtime.conftest import Connect, Socket

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


# ---- Who left hears nothing more ------------------------------------------------------------
#
# The one way off a conversation is to leave it: DELETE conversations/{id} on a regular one
# (rest-api.md). A live conversation is ended, not left, so ended-conversation and
# changed-conversation (both about live conversations) cannot follow a leave; the admin shows
# participants read-only (tests/conversations/test_admin.py), so nobody is removed behind the
# actions' back.

run = database_sync_to_async


@dataclass
class AfterLeaving:
    """carol has left ``left`` (alice, bob and carol's); she still shares ``other`` with dave,
    whose messages show that her connection hears what it should."""

    left: Conversation
    other: Conversation
    alice: Socket
    bob: Socket
    carol: Socket
    dave: Socket
    carol_member: Member
    dave_member: Member
    carol_seq: int

    async def carol_heard_nothing_of_it(self) -> None:
        """Silent, nothing recorded for a resume to replay, and her connection still alive."""
        await self.carol.assert_silent()
        recorded = await run(
            lambda: list(
                StreamEvent.objects.filter(
                    stream_id=self.carol_member.id, seq__gt=self.carol_seq
                ).values_list("seq", "type")
            )
        )()
        assert recorded == [], recorded
        await run(conversation_actions.do_send_message)(self.other, self.dave_member.user, "hi")
        event = await self.carol.next_event()
        assert (event["type"], event["data"]["text"]) == ("message", "hi")


def typing_frame(conversation_id: int, typing: bool = True) -> dict[str, Any]:
    return {"action": "typing", "conversation": conversation_id, "typing": typing}


@pytest.fixture
async def after_leaving(
    connect: Connect, alice: Member, bob: Member, carol: Member, dave: Member
) -> AfterLeaving:
    left, _ = await run(conversation_actions.do_create_conversation)(alice.user, [bob.id, carol.id])
    other, _ = await run(conversation_actions.do_create_conversation)(dave.user, [carol.id])
    sockets = [await connect(m) for m in (alice, bob, carol, dave)]
    # alice's connection reads who is in the conversation once, and may keep it a while.
    await sockets[0].send_json_to(typing_frame(left.pk))
    for socket in sockets[1:3]:
        assert (await socket.next_event())["type"] == "typing"
    response = await run(carol.client.delete)(f"/api/v1/conversations/{left.pk}")
    assert response.status_code == 204
    for socket in sockets:
        await socket.assert_silent(0.2)  # the others are not told
    position = await run(current_position)(carol.id)
    return AfterLeaving(left, other, *sockets, carol, dave, position.seq)


@pytest.mark.asyncio
class TestWhoLeftHearsNothing:
    async def test_message(self, after_leaving: AfterLeaving, alice: Member) -> None:
        s = after_leaving
        await run(conversation_actions.do_send_message)(s.left, alice.user, "after carol")
        assert (await s.bob.next_event())["data"]["text"] == "after carol"
        await s.carol_heard_nothing_of_it()

    async def test_read(self, after_leaving: AfterLeaving, alice: Member, bob: Member) -> None:
        s = after_leaving
        message = await run(conversation_actions.do_send_message)(s.left, alice.user, "read me")
        for socket in (s.alice, s.bob):
            assert (await socket.next_event())["type"] == "message"
        assert await run(conversation_actions.do_mark_read)(s.left, bob.user, message.pk)
        read = {"user": bob.id, "last_read": message.pk}
        assert (await s.alice.next_event())["data"] == read
        assert (await s.bob.next_event())["data"] == read
        await s.carol_heard_nothing_of_it()

    async def test_typing_of_the_others(self, after_leaving: AfterLeaving) -> None:
        s = after_leaving
        await s.alice.send_json_to(typing_frame(s.left.pk, False))
        assert (await s.bob.next_event())["data"]["typing"] is False
        await s.carol_heard_nothing_of_it()

    async def test_typing_of_the_one_who_left(self, after_leaving: AfterLeaving) -> None:
        s = after_leaving
        await s.carol.send_json_to(typing_frame(s.left.pk))
        assert (await s.carol.next_event())["data"] == {
            "reason": "not allowed",
            "conversation": s.left.pk,
        }
        await s.alice.assert_silent()
        await s.bob.assert_silent()
        await s.carol_heard_nothing_of_it()

    async def test_presence_of_the_others(self, after_leaving: AfterLeaving, alice: Member) -> None:
        s = after_leaving
        await s.alice.send_json_to({"action": "presence", "form": "mobile"})
        assert (await s.bob.next_event())["data"]["user"] == alice.id
        await s.carol_heard_nothing_of_it()

    async def test_presence_of_the_one_who_left(
        self, after_leaving: AfterLeaving, carol: Member
    ) -> None:
        s = after_leaving
        await s.carol.send_json_to({"action": "presence", "form": "desktop"})
        # dave still shares a conversation with her; alice and bob no longer do.
        assert (await s.dave.next_event())["data"]["user"] == carol.id
        await s.alice.assert_silent()
        await s.bob.assert_silent()
        await s.carol_heard_nothing_of_it()

    async def test_someone_added_after(
        self, after_leaving: AfterLeaving, alice: Member, dave: Member
    ) -> None:
        s = after_leaving
        await run(conversation_actions.do_add_participants)(s.left, alice.user, [dave.id])
        event = await s.dave.next_event()
        assert (event["type"], event["location"]) == (
            "new-conversation",
            f"/conversations/{s.left.pk}",
        )
        await s.bob.assert_silent()  # only the newcomer is told
        await s.carol_heard_nothing_of_it()

    async def test_coming_back_hears_again(
        self, after_leaving: AfterLeaving, alice: Member, carol: Member
    ) -> None:
        # The silence above is the leave's: added again, carol hears the conversation again.
        s = after_leaving
        await run(conversation_actions.do_add_participants)(s.left, alice.user, [carol.id])
        assert (await s.carol.next_event())["type"] == "new-conversation"
        await run(conversation_actions.do_send_message)(s.left, alice.user, "welcome back")
        assert (await s.carol.next_event())["data"]["text"] == "welcome back"
