"""Who hears about what (realtime.receivers): a failure while building an event is logged and
breaks neither the change nor other events; a user who left a conversation hears nothing more
of it; a change that is rolled back sends nothing."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import actions as account_actions
from conversations import actions as conversation_actions
from conversations.models import Conversation, Message
from notifications import actions as notification_actions
from posts import actions as post_actions
from posts.models import Network
from realtime import events, receivers
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS
from realtime.history import current_position
from realtime.models import StreamEvent
from realtime.publish import publisher
from tests.conftest import Member
from tests.realtime.conftest import Connect, Socket
from videos import actions as video_actions

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
# (rest-api.md). A live conversation is ended, not left, so ended-conversation cannot follow a
# leave, and the others are not told of it. The admin shows participants read-only
# (tests/conversations/test_admin.py), so nobody is removed behind the actions' back.

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


def participants_of(event: dict[str, Any], event_type: str) -> list[int]:
    """The participant ids ``event`` lists; it must be of type ``event_type``."""
    assert event["type"] == event_type, event
    return [p["id"] for p in event["data"]["participants"]]


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
        await socket.assert_silent(0.2)  # the others are not told (rest-api.md)
    position = await run(current_position)(carol.id)
    alice_socket, bob_socket, carol_socket, dave_socket = sockets
    return AfterLeaving(
        left, other, alice_socket, bob_socket, carol_socket, dave_socket, carol, dave, position.seq
    )


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
        self, after_leaving: AfterLeaving, alice: Member, bob: Member, dave: Member
    ) -> None:
        s = after_leaving
        await run(conversation_actions.do_add_participants)(s.left, alice.user, [dave.id])
        event = await s.dave.next_event()
        assert (event["type"], event["location"]) == (
            "new-conversation",
            f"/conversations/{s.left.pk}",
        )
        for socket in (s.alice, s.bob):
            assert participants_of(await socket.next_event(), "changed-conversation") == [
                alice.id,
                bob.id,
                dave.id,
            ]
        await s.dave.assert_silent()  # the newcomer is not told both
        await s.carol_heard_nothing_of_it()

    async def test_someone_else_leaving_after(
        self, after_leaving: AfterLeaving, alice: Member, bob: Member
    ) -> None:
        s = after_leaving
        await run(conversation_actions.do_leave_conversation)(s.left, bob.user)
        await s.alice.assert_silent()  # not told of this leave either
        await s.bob.assert_silent()
        await s.carol_heard_nothing_of_it()

    async def test_coming_back_hears_again(
        self, after_leaving: AfterLeaving, alice: Member, carol: Member
    ) -> None:
        # The silence above is the leave's: added again, carol hears the conversation again.
        s = after_leaving
        await run(conversation_actions.do_add_participants)(s.left, alice.user, [carol.id])
        assert (await s.carol.next_event())["type"] == "new-conversation"
        await s.carol.assert_silent()
        await run(conversation_actions.do_send_message)(s.left, alice.user, "welcome back")
        assert (await s.carol.next_event())["data"]["text"] == "welcome back"


# ---- A change that is rolled back sends nothing ---------------------------------------------
#
# Each receiver of realtime.receivers, through the real action inside a transaction that rolls
# back: no event reaches a connected client and nothing reaches the publisher. Then the same
# action committed does reach them, so the silence is the rollback's.


class RolledBack(Exception):
    pass


def rolled_back(change: Callable[[], object]) -> None:
    """``change()`` inside a transaction that then rolls back."""
    with pytest.raises(RolledBack), transaction.atomic():
        change()
        raise RolledBack


async def roll_back(change: Callable[[], object]) -> None:
    await run(rolled_back)(change)


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The label of everything handed to the publisher, which still sends it (a spy on the
    real one, not a stand-in): events and control messages alike."""
    labels: list[str] = []
    send, send_many = publisher.send, publisher.send_many

    def spy_send(groups: Iterable[str], message: dict[str, Any], label: str) -> None:
        labels.append(label)
        send(groups, message, label)

    def spy_send_many(sends: Iterable[tuple[Iterable[str], dict[str, Any], str]]) -> None:
        listed = list(sends)
        labels.extend(label for _, _, label in listed)
        send_many(listed)

    monkeypatch.setattr(publisher, "send", spy_send)
    monkeypatch.setattr(publisher, "send_many", spy_send_many)
    return labels


COVERED: set[str] = set()
Test = TypeVar("Test", bound=Callable[..., Any])


def covers(receiver: Callable[..., None]) -> Callable[[Test], Test]:
    """Marks the rollback test of ``receiver``."""

    def mark(test: Test) -> Test:
        COVERED.add(receiver.__name__)
        return test

    return mark


def test_every_receiver_has_a_rollback_test() -> None:
    names = {name for name in vars(receivers) if name.startswith("on_")}
    assert names == COVERED


async def network_of(creator: Member, *members: Member) -> Network:
    network = await run(post_actions.do_create_network)(creator.user, "Campus")
    await run(post_actions.do_add_network_members)(network, creator.user, [m.id for m in members])
    return network


async def subscribed(socket: Socket, **targets: list[int]) -> None:
    await socket.send_json_to({"action": "SUBSCRIBE", **targets})
    for _ in targets.get("posts", []):
        assert (await socket.next_event())["type"] == "views"
    await socket.assert_silent(0.2)


async def chat(creator: Member, *others: Member, live: bool = False) -> Conversation:
    conversation, _ = await run(conversation_actions.do_create_conversation)(
        creator.user, [o.id for o in others], live=live
    )
    return conversation


@pytest.mark.asyncio
class TestRolledBackChangesSendNothing:
    @covers(receivers.on_message_sent)
    async def test_message(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        conversation = await chat(alice, bob)
        socket = await connect(bob)
        published.clear()
        send = functools.partial(conversation_actions.do_send_message, conversation, alice.user)
        await roll_back(lambda: send("doomed"))
        await socket.assert_silent()
        assert published == []
        await run(send)("kept")
        assert (await socket.next_event())["data"]["text"] == "kept"

    @covers(receivers.on_messages_read)
    async def test_read(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        conversation = await chat(alice, bob)
        message = await run(conversation_actions.do_send_message)(conversation, alice.user, "x")
        socket = await connect(alice)
        published.clear()
        read = functools.partial(conversation_actions.do_mark_read, conversation, bob.user)
        await roll_back(lambda: read(message.pk))
        await socket.assert_silent()
        assert published == []
        await run(read)(message.pk)
        assert (await socket.next_event())["type"] == "read"

    @covers(receivers.on_conversation_created)
    async def test_new_conversation(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        socket = await connect(bob)
        create = functools.partial(conversation_actions.do_create_conversation, alice.user)
        await roll_back(lambda: create([bob.id]))
        await socket.assert_silent()
        assert published == []
        await run(create)([bob.id])
        assert (await socket.next_event())["type"] == "new-conversation"

    @covers(receivers.on_participants_added)
    async def test_participants_added(
        self, connect: Connect, published: list[str], alice: Member, bob: Member, carol: Member
    ) -> None:
        conversation = await chat(alice, bob)
        socket, bob_socket = await connect(carol), await connect(bob)
        published.clear()
        add = functools.partial(conversation_actions.do_add_participants, conversation, alice.user)
        await roll_back(lambda: add([carol.id]))
        await socket.assert_silent()
        await bob_socket.assert_silent()
        assert published == []  # none of the events nor the control message
        await run(add)([carol.id])
        assert (await socket.next_event())["type"] == "new-conversation"
        assert (await bob_socket.next_event())["type"] == "changed-conversation"

    @covers(receivers.on_participant_left)
    async def test_participant_left(
        self, connect: Connect, published: list[str], alice: Member, bob: Member, carol: Member
    ) -> None:
        conversation = await chat(alice, bob, carol)
        socket = await connect(carol)
        published.clear()
        leave = functools.partial(conversation_actions.do_leave_conversation, conversation)
        await roll_back(lambda: leave(carol.user))
        assert published == []
        # Still in it: she hears its messages.
        await run(conversation_actions.do_send_message)(conversation, alice.user, "still")
        assert (await socket.next_event())["data"]["text"] == "still"
        published.clear()
        await run(leave)(carol.user)
        assert published == ["realtime.conversation_changed"]  # no event: others are not told

    @covers(receivers.on_conversation_ended)
    async def test_ended_conversation(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        conversation = await chat(alice, bob, live=True)
        socket = await connect(bob)
        published.clear()
        end = functools.partial(conversation_actions.do_end_conversation, conversation)
        await roll_back(end)
        await socket.assert_silent()
        assert published == []
        await run(end)()
        assert (await socket.next_event())["type"] == "ended-conversation"

    @covers(receivers.on_conversation_made_regular)
    async def test_changed_conversation(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        conversation = await chat(alice, bob, live=True)
        socket = await connect(bob)
        published.clear()
        regular = functools.partial(conversation_actions.do_make_regular, conversation)
        await roll_back(regular)
        await socket.assert_silent()
        assert published == []
        await run(regular)()
        assert (await socket.next_event())["type"] == "changed-conversation"

    @covers(receivers.on_notification_created)
    async def test_notification(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        socket = await connect(bob)
        request = functools.partial(notification_actions.do_request_contact, alice.user)
        await roll_back(lambda: request(bob.id))
        await socket.assert_silent()
        assert published == []
        await run(request)(bob.id)
        assert (await socket.next_event())["type"] == "notification"

    @covers(receivers.on_video_ready)
    async def test_video_ready(
        self,
        connect: Connect,
        published: list[str],
        alice: Member,
        tmp_path: Path,
        settings: Any,
    ) -> None:
        settings.MEDIA_ROOT = str(tmp_path / "media")
        outputs = []
        for name in ("out.mp4", "out.webm", "thumb.jpg"):
            (tmp_path / name).write_bytes(b"not really " + name.encode())
            outputs.append(tmp_path / name)
        video = await run(video_actions.do_upload_video)(
            alice.user, SimpleUploadedFile("clip.mp4", b"raw bytes", "video/mp4")
        )
        socket = await connect(alice)
        published.clear()
        ready = functools.partial(video_actions.do_mark_video_ready, video, *outputs)
        await roll_back(ready)
        await socket.assert_silent()
        assert published == []
        await run(ready)()
        assert (await socket.next_event())["type"] == "video-ready"

    @covers(receivers.on_post_views_changed)
    async def test_views(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        network = await network_of(alice, bob)
        post = await run(post_actions.do_create_post)(network, alice.user, "seen?")
        socket = await connect(bob)
        await subscribed(socket, posts=[post.pk])
        published.clear()
        view = functools.partial(post_actions.do_record_views, alice.user)
        await roll_back(lambda: view([(post.pk, timezone.now())]))
        # A first view's count is sent at once (realtime.view_counts): well within this.
        await socket.assert_silent(0.5)
        assert published == []
        await run(view)([(post.pk, timezone.now())])
        event = await socket.next_event()
        assert (event["type"], event["data"]["views"]) == ("views", 1)

    @covers(receivers.on_post_created)
    async def test_post(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        network = await network_of(alice, bob)
        socket = await connect(bob)
        await subscribed(socket, networks=[network.pk])
        create = functools.partial(post_actions.do_create_post, network, alice.user)
        await roll_back(lambda: create("doomed"))
        await socket.assert_silent()
        assert published == []
        await run(create)("kept")
        assert (await socket.next_event())["data"]["text"] == "kept"

    @covers(receivers.on_comment_added)
    async def test_comment(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        network = await network_of(alice, bob)
        post = await run(post_actions.do_create_post)(network, bob.user, "mine")
        socket = await connect(bob)
        await subscribed(socket, posts=[post.pk])
        published.clear()
        comment = functools.partial(post_actions.do_comment, post, alice.user)
        await roll_back(lambda: comment("doomed"))
        await socket.assert_silent()
        assert published == []  # nor bob's "commented" notification
        await run(comment)("kept")
        events = [await socket.next_event(), await socket.next_event()]
        assert sorted(e["type"] for e in events) == ["comment", "notification"]

    @covers(receivers.on_presence_changed)
    async def test_presence(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        await chat(alice, bob)
        socket = await connect(bob)
        published.clear()
        presence = functools.partial(account_actions.do_set_presence, alice.user)
        await roll_back(lambda: presence("mobile"))
        await socket.assert_silent()
        assert published == []
        await run(presence)("mobile")
        assert (await socket.next_event())["type"] == "presence"

    @covers(receivers.on_post_deleted)
    async def test_post_deleted(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        network = await network_of(alice, bob)
        post = await run(post_actions.do_create_post)(network, alice.user, "doomed?")
        socket = await connect(bob)
        await subscribed(socket, posts=[post.pk])
        published.clear()
        delete = functools.partial(post_actions.do_delete_post, post, alice.user)
        await roll_back(delete)
        assert published == []
        # Still subscribed: its comments reach him.
        await run(post_actions.do_comment)(post, alice.user, "still here")
        assert (await socket.next_event())["data"]["text"] == "still here"
        published.clear()
        await run(post_actions.do_delete_post)(post, alice.user)
        assert published == ["realtime.post_removed"]

    @covers(receivers.on_network_member_removed)
    async def test_network_member_removed(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        network = await network_of(alice, bob)
        socket = await connect(bob)
        await subscribed(socket, networks=[network.pk])
        published.clear()
        remove = functools.partial(post_actions.do_remove_network_member, network, alice.user)
        await roll_back(lambda: remove(bob.id))
        assert published == []
        # Still a subscribed member: the network's posts reach him.
        await run(post_actions.do_create_post)(network, alice.user, "for bob")
        assert (await socket.next_event())["data"]["text"] == "for bob"
        published.clear()
        await run(remove)(bob.id)
        assert published == ["realtime.network_left"]

    @covers(receivers.on_credentials_revoked)
    async def test_credentials_revoked(
        self, connect: Connect, published: list[str], alice: Member, bob: Member
    ) -> None:
        conversation = await chat(alice, bob)
        socket = await connect(bob)
        published.clear()
        revoke = functools.partial(account_actions.do_revoke_tokens, bob.user)
        await roll_back(revoke)
        assert published == []
        # Still open, still his: a message reaches him.
        await run(conversation_actions.do_send_message)(conversation, alice.user, "open?")
        assert (await socket.next_event())["data"]["text"] == "open?"
        await run(revoke)()
        assert await socket.next_event() == {"error": "Invalid credentials"}
        assert await socket.receive_output(timeout=3) == {
            "type": "websocket.close",
            "code": CLOSE_INVALID_CREDENTIALS,
        }
