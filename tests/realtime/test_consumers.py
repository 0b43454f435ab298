"""The websocket endpoint end to end inside one process: auth, every event, every action.

Events are caused by the real actions (the same code the REST views and admin call) and travel
through the configured channel layer (Redis in CI).
"""

from __future__ import annotations

import functools
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from accounts.models import AuthToken
from conversations import actions as conversation_actions
from conversations.models import Conversation
from conversations.serializers import conversation_data, message_data
from gleepost.conf import gp_settings
from notifications import actions as notification_actions
from notifications.models import Notification
from notifications.serializers import NotificationSerializer
from posts import actions as post_actions
from posts.models import Post
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS
from realtime.consumer import handshake
from realtime.models import StreamEvent
from realtime.throttling import FrameRateLimit
from tests.conftest import Member
from tests.realtime.conftest import Connect, Socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

run = database_sync_to_async

RATE_LIMITED = {"type": "error", "data": {"reason": "rate limited"}}


async def assert_connected_as(socket: Socket, member: Member, other: Member) -> None:
    """The connection is ``member``'s: an event for them reaches it, and nothing before it (a
    refused handshake is accepted too, then answers an error and closes: invalid credentials)."""
    conversation, _ = await run(conversation_actions.do_create_conversation)(
        other.user, [member.id]
    )
    event = await socket.next_event()
    assert (event["type"], event["location"]) == (
        "new-conversation",
        f"/conversations/{conversation.pk}",
    )


class TestAuthentication:
    async def test_token_in_query_is_accepted(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        socket = await connect(alice)
        await assert_connected_as(socket, alice, bob)

    async def test_token_in_header_is_accepted(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        socket = await connect(headers=[(b"x-gp-auth", alice.auth_header.encode())])
        await assert_connected_as(socket, alice, bob)

    async def test_ws_path_alias(self, connect: Connect, alice: Member) -> None:
        await connect(alice, path="/ws")

    @pytest.mark.parametrize(
        "query",
        [
            None,
            "id=1&token=nope",
            "id=abc&token=def",
            "token=only",
            "id=1&id=2&token=x",
        ],
    )
    async def test_bad_credentials_get_an_error_and_the_invalid_credentials_close(
        self, connect: Connect, alice: Member, query: str | None
    ) -> None:
        socket = await connect(query=query or "")
        assert json.loads(await socket.receive_from()) == {"error": "Invalid credentials"}
        closed = await socket.receive_output(timeout=3)
        assert closed == {"type": "websocket.close", "code": CLOSE_INVALID_CREDENTIALS}

    async def test_another_users_id_with_your_token_is_refused(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        socket = await connect(query=f"id={bob.id}&token={alice.token}")
        assert await socket.next_event() == {"error": "Invalid credentials"}

    async def test_expired_token_is_refused(self, connect: Connect, alice: Member) -> None:
        await run(
            lambda: AuthToken.objects.filter(user=alice.user).update(
                expires_at=timezone.now() - timedelta(seconds=1)
            )
        )()
        socket = await connect(alice)
        assert await socket.next_event() == {"error": "Invalid credentials"}

    async def test_malformed_header_is_refused(self, connect: Connect, alice: Member) -> None:
        socket = await connect(headers=[(b"x-gp-auth", b"nonsense")])
        assert await socket.next_event() == {"error": "Invalid credentials"}


class TestConversationEvents:
    async def test_message_reaches_every_participant_and_no_one_else(
        self, connect: Connect, alice: Member, bob: Member, carol: Member
    ) -> None:
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id]
        )
        alice_phone, alice_laptop = await connect(alice), await connect(alice)
        bob_socket, carol_socket = await connect(bob), await connect(carol)
        message = await run(conversation_actions.do_send_message)(conversation, alice.user, "hi")
        expected = {
            "type": "message",
            "location": f"/conversations/{conversation.pk}",
            "data": await run(message_data)(message),
        }
        assert expected["data"]["text"] == "hi"
        for socket in (alice_phone, alice_laptop, bob_socket):
            assert await socket.next_event() == expected
        await carol_socket.assert_silent()

    async def test_read_reaches_every_participant(
        self, connect: Connect, alice: Member, bob: Member, carol: Member
    ) -> None:
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id]
        )
        message = await run(conversation_actions.do_send_message)(conversation, alice.user, "x")
        alice_socket, bob_socket, carol_socket = (
            await connect(alice),
            await connect(bob),
            await connect(carol),
        )
        await run(conversation_actions.do_mark_read)(conversation, bob.user, message.pk)
        expected = {
            "type": "read",
            "location": f"/conversations/{conversation.pk}",
            "data": {"user": bob.id, "last_read": message.pk},
        }
        assert await alice_socket.next_event() == expected
        assert await bob_socket.next_event() == expected
        await carol_socket.assert_silent()
        # An unchanged marker sends nothing.
        await run(conversation_actions.do_mark_read)(conversation, bob.user, message.pk)
        await alice_socket.assert_silent()

    async def test_new_conversation_reaches_participants_only(
        self, connect: Connect, alice: Member, bob: Member, carol: Member
    ) -> None:
        alice_socket, bob_socket, carol_socket = (
            await connect(alice),
            await connect(bob),
            await connect(carol),
        )
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id], live=True
        )
        expected = {
            "type": "new-conversation",
            "location": f"/conversations/{conversation.pk}",
            "data": await run(conversation_data)(conversation),
        }
        assert expected["data"]["expiry"]["ended"] is False
        assert await alice_socket.next_event() == expected
        assert await bob_socket.next_event() == expected
        await carol_socket.assert_silent()

    async def test_added_user_gets_new_conversation_the_others_changed_conversation(
        self, connect: Connect, alice: Member, bob: Member, carol: Member, dave: Member
    ) -> None:
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id, carol.id]
        )
        await run(conversation_actions.do_leave_conversation)(conversation, carol.user)
        alice_socket, bob_socket = await connect(alice), await connect(bob)
        carol_socket, dave_socket = await connect(carol), await connect(dave)
        await run(conversation_actions.do_add_participants)(conversation, alice.user, [carol.id])
        data = await run(conversation_data)(conversation)
        assert [p["id"] for p in data["participants"]] == [alice.id, bob.id, carol.id]
        location = f"/conversations/{conversation.pk}"
        # Who was in it already (who added her too) is told the new list...
        changed = {"type": "changed-conversation", "location": location, "data": data}
        assert await alice_socket.next_event() == changed
        assert await bob_socket.next_event() == changed
        # ...and the newcomer is placed in a new conversation: that alone, not both.
        new = {"type": "new-conversation", "location": location, "data": data}
        assert await carol_socket.next_event() == new
        for socket in (alice_socket, bob_socket, carol_socket, dave_socket):
            await socket.assert_silent()

    async def test_leaving_a_regular_conversation_tells_nobody(
        self, connect: Connect, alice: Member, bob: Member, carol: Member, dave: Member
    ) -> None:
        """rest-api.md: "the others are not notified"; nothing is recorded for anyone."""
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id, carol.id]
        )
        alice_socket, bob_socket = await connect(alice), await connect(bob)
        carol_socket, dave_socket = await connect(carol), await connect(dave)
        await run(conversation_actions.do_leave_conversation)(conversation, carol.user)
        for socket in (alice_socket, bob_socket, carol_socket, dave_socket):
            await socket.assert_silent()
        recorded = await run(
            lambda: StreamEvent.objects.filter(type="changed-conversation").count()
        )()
        assert recorded == 0

    async def test_ended_conversation_reaches_every_participant(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id], live=True
        )
        alice_socket, bob_socket = await connect(alice), await connect(bob)
        await run(conversation_actions.do_end_conversation)(conversation)
        for socket in (alice_socket, bob_socket):
            event = await socket.next_event()
            assert event["type"] == "ended-conversation"
            assert event["location"] == f"/conversations/{conversation.pk}"
            assert event["data"]["expiry"]["ended"] is True

    async def test_expiry_job_sends_ended_conversation(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id], live=True
        )
        await run(
            lambda: Conversation.objects.filter(pk=conversation.pk).update(
                expiry_time=timezone.now()
            )
        )()
        bob_socket = await connect(bob)
        await run(conversation_actions.do_end_expired_conversations)()
        assert (await bob_socket.next_event())["type"] == "ended-conversation"

    async def test_changed_conversation_has_no_expiry(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id], live=True
        )
        bob_socket = await connect(bob)
        await run(conversation_actions.do_make_regular)(conversation)
        event = await bob_socket.next_event()
        assert event["type"] == "changed-conversation"
        assert "expiry" not in event["data"]
        assert event["data"]["id"] == conversation.pk

    async def test_user_who_left_gets_nothing_more(
        self, connect: Connect, alice: Member, bob: Member, carol: Member
    ) -> None:
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id, carol.id]
        )
        await run(conversation_actions.do_leave_conversation)(conversation, carol.user)
        bob_socket, carol_socket = await connect(bob), await connect(carol)
        await run(conversation_actions.do_send_message)(conversation, alice.user, "after")
        assert (await bob_socket.next_event())["type"] == "message"
        await carol_socket.assert_silent()

    async def test_rolled_back_change_sends_nothing(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id]
        )
        bob_socket = await connect(bob)

        def send_then_fail() -> None:
            from django.db import transaction

            with transaction.atomic():
                conversation_actions.do_send_message(conversation, alice.user, "doomed")
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            await run(send_then_fail)()
        await bob_socket.assert_silent(0.5)


class TestOtherEvents:
    async def test_notification_reaches_recipient_only(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        alice_socket, bob_socket = await connect(alice), await connect(bob)
        await run(notification_actions.do_request_contact)(alice.user, bob.id)
        notification = await run(lambda: Notification.objects.get(recipient=bob.user))()
        assert await bob_socket.next_event() == {
            "type": "notification",
            "location": "/notifications",
            "data": await run(lambda: NotificationSerializer(notification).data)(),
        }
        await alice_socket.assert_silent()

    async def test_a_first_like_notifies_the_author_only_once(
        self, connect: Connect, alice: Member, bob: Member, carol: Member
    ) -> None:
        post = await make_post(alice, bob, carol)
        sockets = [await connect(m) for m in (alice, bob, carol)]
        like = functools.partial(post_actions.do_set_like, post, bob.user)
        for liked in [True, False, True]:
            await run(like)(liked)
        notification = await run(lambda: Notification.objects.get(recipient=alice.user))()
        assert await sockets[0].next_event() == {
            "type": "notification",
            "location": "/notifications",
            "data": await run(lambda: NotificationSerializer(notification).data)(),
        }
        assert (notification.type, notification.actor_id, notification.post_id) == (
            "liked",
            bob.id,
            post.pk,
        )
        for socket in sockets:
            await socket.assert_silent()


async def make_post(author: Member, *members: Member) -> Post:
    network = await run(post_actions.do_create_network)(author.user, "Campus")
    if members:
        await run(post_actions.do_add_network_members)(
            network, author.user, [m.id for m in members]
        )
    return await run(post_actions.do_create_post)(network, author.user, "hello")


class TestPostSubscriptions:
    async def test_subscribed_connection_gets_views(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        post = await make_post(alice, bob)
        watcher, idle = await connect(bob), await connect(bob)
        assert await watcher.subscribe_posts([post.pk]) == {post.pk: 0}
        await watcher.assert_silent(0.2)
        await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
        assert await watcher.next_event() == {
            "type": "views",
            "location": f"/posts/{post.pk}",
            "data": {"views": 1},
        }
        await idle.assert_silent()

    async def test_unsubscribed_connection_gets_no_more_views(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        post = await make_post(alice, bob)
        socket = await connect(bob)
        await socket.subscribe_posts([post.pk])
        await socket.send_json_to({"action": "UNSUBSCRIBE", "posts": [post.pk]})
        await socket.assert_silent(0.2)
        await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
        await socket.assert_silent(0.5)

    async def test_non_member_cannot_subscribe_and_is_told_which(
        self, connect: Connect, alice: Member, bob: Member, dave: Member
    ) -> None:
        post = await make_post(alice, bob)
        socket = await connect(dave)
        await socket.send_json_to({"action": "SUBSCRIBE", "posts": [post.pk, 987654]})
        assert await socket.next_event() == {
            "type": "error",
            "location": "/posts",
            "data": {"reason": "not allowed", "posts": [post.pk, 987654]},
        }
        await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
        await socket.assert_silent(0.5)

    async def test_deleted_post_cannot_be_subscribed(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        post = await make_post(alice, bob)
        await run(post_actions.do_delete_post)(post, alice.user)
        socket = await connect(bob)
        await socket.send_json_to({"action": "SUBSCRIBE", "posts": [post.pk]})
        event = await socket.next_event()
        assert event["data"] == {"reason": "not allowed", "posts": [post.pk]}

    async def test_unsubscribe_empty_list_closes_with_1000_and_leaves_user_group(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id]
        )
        socket = await connect(bob)
        await socket.send_json_to({"action": "UNSUBSCRIBE", "posts": []})
        assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 1000}
        await run(conversation_actions.do_send_message)(conversation, alice.user, "gone?")
        assert await socket.receive_nothing(timeout=0.3)


class TestBadFrames:
    @pytest.mark.parametrize(
        ("frame", "reason_part"),
        [
            ("not json", "JSON"),
            ("[1, 2]", "object"),
            ('"text"', "object"),
            ('{"action": "DANCE"}', "unknown action"),
            ('{"posts": [1]}', "unknown action"),
            ('{"action": "SUBSCRIBE"}', "list"),
            ('{"action": "SUBSCRIBE", "posts": "1,2"}', "list"),
            ('{"action": "SUBSCRIBE", "posts": [0]}', "positive"),
            ('{"action": "SUBSCRIBE", "posts": [-3]}', "positive"),
            ('{"action": "SUBSCRIBE", "posts": [1.5]}', "positive"),
            ('{"action": "SUBSCRIBE", "posts": [true]}', "positive"),
            ('{"action": "SUBSCRIBE", "posts": ["7"]}', "positive"),
            ('{"action": "SUBSCRIBE", "posts": [' + ",".join(["1"] * 1001) + "]}", "at most"),
            ("[" * 60_000, "JSON"),
            ('{"action": "SUBSCRIBE", "posts": [1], "pad": "' + "x" * 70_000 + '"}', "large"),
        ],
    )
    async def test_bad_frame_gets_error_and_connection_stays(
        self, connect: Connect, alice: Member, bob: Member, frame: str, reason_part: str
    ) -> None:
        post = await make_post(alice, bob)
        socket = await connect(bob)
        await socket.subscribe_posts([post.pk])
        await socket.send_to(text_data=frame)
        event = await socket.next_event()
        assert event["type"] == "error"
        assert "location" not in event
        assert reason_part in event["data"]["reason"]
        # The connection and its subscription are as they were.
        await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
        assert (await socket.next_event())["type"] == "views"

    async def test_binary_frame_gets_error(self, connect: Connect, alice: Member) -> None:
        socket = await connect(alice)
        await socket.send_to(bytes_data=b"\x00\x01")
        event = await socket.next_event()
        assert event["type"] == "error" and "binary" in event["data"]["reason"]

    async def test_more_than_1000_subscriptions_refused_whole(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        post = await make_post(alice, bob)
        socket = await connect(bob)
        await socket.subscribe_posts([post.pk])
        await socket.send_json_to(
            {"action": "SUBSCRIBE", "posts": list(range(10**6, 10**6 + 1000))}
        )
        event = await socket.next_event()
        assert "at most 1000 subscriptions" in event["data"]["reason"]
        await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
        assert (await socket.next_event())["type"] == "views"


class StoppedClock:
    """A clock that moves only when told (``now += seconds``)."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


class TestFrameRateLimit:
    """Every frame counts, malformed ones too; the excess is refused, then the connection."""

    @pytest.fixture
    def clock(self, monkeypatch: pytest.MonkeyPatch) -> StoppedClock:
        """The connections' limits read this clock: every frame falls in one window however
        slowly a busy machine sends them, and the next window is a step, not a sleep."""
        clock = StoppedClock()
        monkeypatch.setattr(
            handshake, "FrameRateLimit", functools.partial(FrameRateLimit, clock=clock)
        )
        return clock

    async def test_frames_past_the_limit_are_not_acted_on_and_told_once_a_second(
        self, connect: Connect, alice: Member, bob: Member, clock: StoppedClock
    ) -> None:
        post = await make_post(alice, bob)
        socket = await connect(bob)
        await socket.subscribe_posts([post.pk])
        answered_by_nothing = {"action": "UNSUBSCRIBE", "networks": [987654]}
        for _ in range(gp_settings.MAX_FRAMES_PER_SEC - 1):
            await socket.send_json_to(answered_by_nothing)
        await socket.send_json_to({"action": "UNSUBSCRIBE", "posts": [post.pk]})
        assert await socket.next_event() == RATE_LIMITED
        await socket.send_to(text_data="not json")  # refused too, and not told again
        await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
        # Still subscribed: the refused UNSUBSCRIBE was not acted on.
        assert (await socket.next_event())["type"] == "views"
        clock.now += 1.0
        await socket.send_to(text_data="not json")
        assert (await socket.next_event())["data"] == {"reason": "not valid JSON"}

    async def test_a_connection_that_keeps_going_is_closed_with_4008(
        self, connect: Connect, alice: Member, bob: Member, clock: StoppedClock
    ) -> None:
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id]
        )
        socket = await connect(bob)
        limit = gp_settings.MAX_FRAMES_PER_SEC
        for _ in range(limit + gp_settings.MAX_REFUSED_FRAMES + 1):
            await socket.send_to(text_data="not json")
        answers = []
        while (output := await socket.receive_output(timeout=3))["type"] == "websocket.send":
            answers.append(json.loads(output["text"]))
        assert output == {"type": "websocket.close", "code": 4008}
        assert answers[:limit] == [{"type": "error", "data": {"reason": "not valid JSON"}}] * limit
        assert answers[limit:] == [RATE_LIMITED, RATE_LIMITED]  # the first refused, the last
        # Closed means out of every group; another connection is welcome.
        await run(conversation_actions.do_send_message)(conversation, alice.user, "there?")
        assert await socket.receive_nothing(timeout=0.3)
        again = await connect(bob)
        await run(conversation_actions.do_send_message)(conversation, alice.user, "welcome")
        assert (await again.next_event())["data"]["text"] == "welcome"


class TestAccessEndingWhileConnected:
    async def test_deleted_post_subscribers_hear_nothing_more(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        post = await make_post(alice, bob)
        socket = await connect(bob)
        await socket.subscribe_posts([post.pk])
        await socket.assert_silent(0.2)
        await run(post_actions.do_delete_post)(post, alice.user)
        await socket.assert_silent(0.3)
        # Even an event published to the post's group directly no longer reaches it.
        from realtime.events import views_event
        from realtime.groups import post_group
        from realtime.publish import publish_now

        publish_now(views_event(post.pk, 99), [post_group(post.pk)])
        await socket.assert_silent(0.5)

    async def test_removed_member_loses_post_subscriptions(
        self, connect: Connect, alice: Member, bob: Member, carol: Member
    ) -> None:
        post = await make_post(alice, bob, carol)
        bob_socket, carol_socket = await connect(bob), await connect(carol)
        for socket in (bob_socket, carol_socket):
            await socket.subscribe_posts([post.pk])
        await bob_socket.assert_silent(0.2)
        network = await run(lambda: post.network)()
        await run(post_actions.do_remove_network_member)(network, alice.user, bob.id)
        await bob_socket.assert_silent(0.3)
        await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
        assert (await carol_socket.next_event())["type"] == "views"
        await bob_socket.assert_silent(0.5)

    async def test_logout_closes_connections_opened_with_that_token_only(
        self, connect: Connect, alice: Member
    ) -> None:
        from accounts.actions import do_logout
        from accounts.tokens import issue_token

        _, other_raw = await run(issue_token)(alice.user)
        with_token = await connect(alice)
        with_other = await connect(query=f"id={alice.id}&token={other_raw}")
        token = await run(
            lambda: AuthToken.objects.filter(user=alice.user).order_by("id").first()
        )()
        await run(do_logout)(token)
        assert await with_token.next_event() == {"error": "Invalid credentials"}
        assert await with_token.receive_output(timeout=3) == {
            "type": "websocket.close",
            "code": CLOSE_INVALID_CREDENTIALS,
        }
        await with_other.assert_silent()


class TestVideoReady:
    async def test_video_ready_reaches_owner_only(
        self, connect: Connect, alice: Member, bob: Member, tmp_path: Any, settings: Any
    ) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        from videos import actions as video_actions
        from videos.serializers import VideoSerializer

        settings.MEDIA_ROOT = str(tmp_path / "media")
        outputs = []
        for name in ("out.mp4", "out.webm", "thumb.jpg"):
            path = tmp_path / name
            path.write_bytes(b"not really " + name.encode())
            outputs.append(path)
        video = await run(video_actions.do_upload_video)(
            alice.user, SimpleUploadedFile("clip.mp4", b"raw bytes", "video/mp4")
        )
        alice_socket, bob_socket = await connect(alice), await connect(bob)
        await run(video_actions.do_mark_video_ready)(video, *outputs)
        await run(video.refresh_from_db)()
        expected = {
            "type": "video-ready",
            "location": f"/videos/{video.pk}",
            "data": await run(lambda: VideoSerializer(video).data)(),
        }
        assert expected["data"]["status"] == "ready"
        assert await alice_socket.next_event() == expected
        await bob_socket.assert_silent()
