"""The protocol's later events (issue 4): network posts, comments, typing, presence, group messages.

Each event is caused through the real actions (or the real client frame) and checked at every
connection that must receive it and at those that must not. All of them are live-only: they
carry no seq/epoch (``Socket.next_event`` checks it) and are never recorded for replay.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from conversations import actions as conversation_actions
from conversations.models import Conversation
from conversations.serializers import message_data
from gleepost.times import format_time
from notifications import actions as notification_actions
from posts import actions as post_actions
from posts.models import Comment, Network, Post
from posts.serializers import CommentSerializer, PostSerializer
from realtime.models import StreamEvent
from tests.conftest import Member
from tests.realtime.conftest import Connect, Socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

run = database_sync_to_async


async def campus(creator: Member, *members: Member, name: str = "Campus") -> Network:
    network = await run(post_actions.do_create_network)(creator.user, name)
    if members:
        await run(post_actions.do_add_network_members)(
            network, creator.user, [m.id for m in members]
        )
    return network


async def new_post(network: Network, author: Member, text: str = "hello") -> Post:
    return await run(post_actions.do_create_post)(network, author.user, text)


async def conversation_of(creator: Member, *others: Member, live: bool = False) -> Conversation:
    conversation, _ = await run(conversation_actions.do_create_conversation)(
        creator.user, [o.id for o in others], live=live
    )
    return conversation


async def subscribe(socket: Socket, **targets: list[int]) -> None:
    """Subscribe and wait until the frame has been handled: each allowed post answers with its
    current views; networks answer nothing when allowed."""
    await socket.send_json_to({"action": "SUBSCRIBE", **targets})
    for _ in targets.get("posts", []):
        assert (await socket.next_event())["type"] == "views"
    await socket.assert_silent(0.2)


async def live_types_recorded() -> list[str]:
    """Types of stored stream events that are not stream events (there must be none)."""
    return await run(
        lambda: list(
            StreamEvent.objects.filter(
                type__in=["post", "comment", "typing", "presence", "views", "error"]
            ).values_list("type", flat=True)
        )
    )()


def typing_frame(conversation_id: int, typing: bool = True) -> dict[str, Any]:
    return {"action": "typing", "conversation": conversation_id, "typing": typing}


async def received_within(socket: Socket, seconds: float) -> list[dict[str, Any]]:
    """Every event that has arrived ``seconds`` from now (never waiting on an empty socket:
    a receive that times out cancels the connection under test)."""
    await asyncio.sleep(seconds)
    events = []
    while not await socket.receive_nothing(timeout=0.01):
        events.append(await socket.next_event())
    return events


class TestNetworkSubscriptions:
    async def test_new_post_reaches_network_subscribers_only(
        self, connect: Connect, alice: Member, bob: Member, carol: Member, dave: Member
    ) -> None:
        network = await campus(alice, bob, carol)
        subscribed, bob_idle = await connect(bob), await connect(bob)
        carol_socket, dave_socket = await connect(carol), await connect(dave)
        await subscribe(subscribed, networks=[network.pk])
        post = await new_post(network, alice, "hello campus")
        expected = {
            "type": "post",
            "location": f"/networks/{network.pk}/posts",
            "data": await run(lambda: PostSerializer(Post.objects.get(pk=post.pk)).data)(),
        }
        assert expected["data"]["text"] == "hello campus"
        assert expected["data"]["network"] == network.pk
        assert await subscribed.next_event() == expected
        for socket in (bob_idle, carol_socket, dave_socket):
            await socket.assert_silent()
        assert await live_types_recorded() == []

    async def test_post_event_equals_the_rest_response(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        network = await campus(alice, bob)
        socket = await connect(bob)
        await subscribe(socket, networks=[network.pk])
        response = await run(alice.client.post)(
            f"/api/v1/networks/{network.pk}/posts", {"text": "over REST"}
        )
        assert response.status_code == 201
        event = await socket.next_event()
        assert event["data"] == response.json()
        fetched = await run(bob.client.get)(f"/api/v1/posts/{response.json()['id']}")
        assert event["data"] == fetched.json()

    async def test_posts_of_other_networks_are_not_sent(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        watched, other = await campus(alice, bob), await campus(alice, bob, name="Other")
        socket = await connect(bob)
        await subscribe(socket, networks=[watched.pk])
        await new_post(other, alice)
        await socket.assert_silent()

    async def test_posts_and_networks_in_one_frame(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        network = await campus(alice, bob)
        post = await new_post(network, alice)
        socket = await connect(bob)
        await subscribe(socket, posts=[post.pk], networks=[network.pk])
        await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
        assert (await socket.next_event())["type"] == "views"
        await new_post(network, alice)
        assert (await socket.next_event())["type"] == "post"

    async def test_non_member_is_refused_without_learning_what_exists(
        self, connect: Connect, alice: Member, bob: Member, dave: Member
    ) -> None:
        network = await campus(alice, bob)
        socket = await connect(dave)
        await socket.send_json_to({"action": "SUBSCRIBE", "networks": [network.pk, 987654]})
        assert await socket.next_event() == {
            "type": "error",
            "location": "/networks",
            "data": {"reason": "not allowed", "networks": [network.pk, 987654]},
        }
        await new_post(network, alice)
        await socket.assert_silent(0.5)

    async def test_allowed_networks_are_kept_when_others_are_refused(
        self, connect: Connect, alice: Member, bob: Member, dave: Member
    ) -> None:
        bobs, daves = await campus(alice, bob), await campus(dave, name="Dave's")
        socket = await connect(bob)
        await socket.send_json_to({"action": "subscribe", "networks": [daves.pk, bobs.pk]})
        event = await socket.next_event()
        assert event["data"] == {"reason": "not allowed", "networks": [daves.pk]}
        await new_post(bobs, alice)
        assert (await socket.next_event())["type"] == "post"
        await new_post(daves, dave)
        await socket.assert_silent()

    async def test_unsubscribed_network_sends_nothing_more(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        network = await campus(alice, bob)
        socket = await connect(bob)
        await subscribe(socket, networks=[network.pk])
        await socket.send_json_to({"action": "UNSUBSCRIBE", "networks": [network.pk]})
        await socket.assert_silent(0.2)
        await new_post(network, alice)
        await socket.assert_silent(0.5)

    async def test_unsubscribing_networks_keeps_post_subscriptions(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        network = await campus(alice, bob)
        post = await new_post(network, alice)
        socket = await connect(bob)
        await subscribe(socket, posts=[post.pk], networks=[network.pk])
        await socket.send_json_to({"action": "UNSUBSCRIBE", "posts": [], "networks": [network.pk]})
        await socket.assert_silent(0.2)
        await new_post(network, alice)
        await socket.assert_silent(0.3)
        await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
        assert (await socket.next_event())["type"] == "views"

    @pytest.mark.parametrize(
        "frame",
        [
            {"action": "UNSUBSCRIBE", "posts": []},
            {"action": "UNSUBSCRIBE", "posts": [], "networks": []},
        ],
    )
    async def test_unsubscribe_from_nothing_leaves_everything_and_closes(
        self, connect: Connect, alice: Member, bob: Member, frame: dict[str, Any]
    ) -> None:
        network = await campus(alice, bob)
        conversation = await conversation_of(alice, bob)
        socket = await connect(bob)
        await subscribe(socket, networks=[network.pk])
        await socket.send_json_to(frame)
        assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 1000}
        await new_post(network, alice)
        await run(conversation_actions.do_send_message)(conversation, alice.user, "gone?")
        assert await socket.receive_nothing(timeout=0.3)

    async def test_empty_networks_alone_unsubscribes_nothing(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        network = await campus(alice, bob)
        socket = await connect(bob)
        await subscribe(socket, networks=[network.pk])
        await socket.send_json_to({"action": "UNSUBSCRIBE", "networks": []})
        await socket.assert_silent(0.2)
        await new_post(network, alice)
        assert (await socket.next_event())["type"] == "post"

    async def test_removed_member_loses_network_subscription(
        self, connect: Connect, alice: Member, bob: Member, carol: Member
    ) -> None:
        network = await campus(alice, bob, carol)
        bob_socket, carol_socket = await connect(bob), await connect(carol)
        for socket in (bob_socket, carol_socket):
            await subscribe(socket, networks=[network.pk])
        await run(post_actions.do_remove_network_member)(network, alice.user, bob.id)
        await bob_socket.assert_silent(0.3)
        await new_post(network, alice)
        assert (await carol_socket.next_event())["type"] == "post"
        await bob_socket.assert_silent(0.5)

    async def test_member_who_leaves_loses_network_subscription(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        network = await campus(alice, bob)
        socket = await connect(bob)
        await subscribe(socket, networks=[network.pk])
        await run(post_actions.do_remove_network_member)(network, bob.user, bob.id)
        await socket.assert_silent(0.3)
        await new_post(network, alice)
        await socket.assert_silent(0.5)

    async def test_more_than_100_networks_refused_whole(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        network = await campus(alice, bob)
        post = await new_post(network, alice)
        socket = await connect(bob)
        await subscribe(socket, networks=[network.pk])
        await socket.send_json_to(
            {"action": "SUBSCRIBE", "posts": [post.pk], "networks": list(range(10**6, 10**6 + 100))}
        )
        event = await socket.next_event()
        assert "at most 100 network subscriptions" in event["data"]["reason"]
        assert "location" not in event
        # Nothing of the frame was applied: not even the allowed post.
        await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
        await new_post(network, alice)
        assert (await socket.next_event())["type"] == "post"
        await socket.assert_silent(1.2)

    async def test_rolled_back_post_sends_nothing(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        network = await campus(alice, bob)
        socket = await connect(bob)
        await subscribe(socket, networks=[network.pk])

        def post_then_fail() -> None:
            with transaction.atomic():
                post_actions.do_create_post(network, alice.user, "doomed")
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            await run(post_then_fail)()
        await socket.assert_silent(0.5)


class TestCommentEvents:
    async def test_comment_reaches_post_subscribers_only(
        self, connect: Connect, alice: Member, bob: Member, carol: Member, dave: Member
    ) -> None:
        network = await campus(alice, bob, carol)
        post = await new_post(network, alice)
        other_post = await new_post(network, alice, "another")
        bob_socket, bob_idle = await connect(bob), await connect(bob)
        carol_elsewhere, dave_socket = await connect(carol), await connect(dave)
        await subscribe(bob_socket, posts=[post.pk])
        await subscribe(carol_elsewhere, posts=[other_post.pk], networks=[network.pk])
        comment = await run(post_actions.do_comment)(post, carol.user, "nice")
        expected = {
            "type": "comment",
            "location": f"/posts/{post.pk}",
            "data": await run(
                lambda: CommentSerializer(Comment.objects.select_related("by").get()).data
            )(),
        }
        assert expected["data"]["id"] == comment.pk
        assert expected["data"]["by"]["id"] == carol.id
        assert set(expected["data"]) == {"id", "by", "text", "timestamp"}
        assert await bob_socket.next_event() == expected
        for socket in (bob_idle, carol_elsewhere, dave_socket):
            await socket.assert_silent()
        assert await live_types_recorded() == []

    async def test_comment_event_equals_the_rest_response(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        network = await campus(alice, bob)
        post = await new_post(network, alice)
        socket = await connect(alice)
        await subscribe(socket, posts=[post.pk])
        response = await run(bob.client.post)(
            f"/api/v1/posts/{post.pk}/comments", {"text": "from bob"}
        )
        assert response.status_code == 201
        events = [await socket.next_event(), await socket.next_event()]
        # alice also gets her "commented" notification on her stream; order is not promised.
        comment = next(e for e in events if e["type"] == "comment")
        assert comment["data"] == response.json()
        assert {e["type"] for e in events} == {"comment", "notification"}

    async def test_unsubscribed_connection_gets_no_more_comments(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        network = await campus(alice, bob)
        post = await new_post(network, alice)
        socket = await connect(bob)
        await subscribe(socket, posts=[post.pk])
        await socket.send_json_to({"action": "UNSUBSCRIBE", "posts": [post.pk]})
        await socket.assert_silent(0.2)
        await run(post_actions.do_comment)(post, alice.user, "anyone?")
        await socket.assert_silent(0.5)

    async def test_removed_member_gets_no_more_comments(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        network = await campus(alice, bob)
        post = await new_post(network, alice)
        socket = await connect(bob)
        await subscribe(socket, posts=[post.pk])
        await run(post_actions.do_remove_network_member)(network, alice.user, bob.id)
        await socket.assert_silent(0.3)
        await run(post_actions.do_comment)(post, alice.user, "bob is gone")
        await socket.assert_silent(0.5)


class TestTyping:
    async def test_typing_reaches_other_participants_not_the_senders_connections(
        self, connect: Connect, alice: Member, bob: Member, carol: Member, dave: Member
    ) -> None:
        conversation = await conversation_of(alice, bob, carol)
        alice_phone, alice_laptop = await connect(alice), await connect(alice)
        bob_socket, carol_socket = await connect(bob), await connect(carol)
        dave_socket = await connect(dave)
        await alice_phone.send_json_to(typing_frame(conversation.pk, True))
        expected = {
            "type": "typing",
            "location": f"/conversations/{conversation.pk}",
            "data": {"user": alice.id, "conversation": conversation.pk, "typing": True},
        }
        assert await bob_socket.next_event() == expected
        assert await carol_socket.next_event() == expected
        for socket in (alice_phone, alice_laptop, dave_socket):
            await socket.assert_silent()
        await alice_phone.send_json_to({**typing_frame(conversation.pk, False), "action": "TYPING"})
        assert (await bob_socket.next_event())["data"]["typing"] is False
        assert await live_types_recorded() == []

    async def test_non_participant_is_refused_and_nobody_hears(
        self, connect: Connect, alice: Member, bob: Member, dave: Member
    ) -> None:
        conversation = await conversation_of(alice, bob)
        alice_socket, bob_socket, dave_socket = (
            await connect(alice),
            await connect(bob),
            await connect(dave),
        )
        for conversation_id in (conversation.pk, 987654):
            await dave_socket.send_json_to(typing_frame(conversation_id))
            assert await dave_socket.next_event() == {
                "type": "error",
                "location": f"/conversations/{conversation_id}",
                "data": {"reason": "not allowed", "conversation": conversation_id},
            }
        await alice_socket.assert_silent()
        await bob_socket.assert_silent()

    async def test_user_who_left_neither_hears_nor_types(
        self, connect: Connect, alice: Member, bob: Member, carol: Member
    ) -> None:
        conversation = await conversation_of(alice, bob, carol)
        alice_socket, bob_socket, carol_socket = (
            await connect(alice),
            await connect(bob),
            await connect(carol),
        )
        # alice's connection has read the conversation once (and may keep it for a while).
        await alice_socket.send_json_to(typing_frame(conversation.pk))
        assert (await carol_socket.next_event())["type"] == "typing"
        assert (await bob_socket.next_event())["type"] == "typing"
        await run(conversation_actions.do_leave_conversation)(conversation, carol.user)
        await carol_socket.assert_silent(0.3)
        await alice_socket.send_json_to(typing_frame(conversation.pk, False))
        assert (await bob_socket.next_event())["data"]["typing"] is False
        await carol_socket.assert_silent()
        await carol_socket.send_json_to(typing_frame(conversation.pk))
        assert (await carol_socket.next_event())["data"]["reason"] == "not allowed"
        await bob_socket.assert_silent()

    async def test_added_participant_hears_typing_at_once(
        self, connect: Connect, alice: Member, bob: Member, carol: Member
    ) -> None:
        conversation = await conversation_of(alice, bob)
        alice_socket, bob_socket = await connect(alice), await connect(bob)
        await alice_socket.send_json_to(typing_frame(conversation.pk))
        assert (await bob_socket.next_event())["type"] == "typing"
        await run(conversation_actions.do_add_participants)(conversation, alice.user, [carol.id])
        for socket in (alice_socket, bob_socket):
            assert (await socket.next_event())["type"] == "changed-conversation"
        carol_socket = await connect(carol)
        # The addition's control message reaches alice's connection before anything published
        # after it (the publisher keeps their order, the connection handles them in turn).
        await run(conversation_actions.do_send_message)(conversation, alice.user, "welcome")
        for socket in (alice_socket, bob_socket, carol_socket):
            assert (await socket.next_event())["data"]["text"] == "welcome"
        await alice_socket.send_json_to(typing_frame(conversation.pk, False))
        assert (await carol_socket.next_event())["data"]["user"] == alice.id
        assert (await bob_socket.next_event())["data"]["typing"] is False

    async def test_ended_conversation_refuses_typing(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        conversation = await conversation_of(alice, bob, live=True)
        alice_socket, bob_socket = await connect(alice), await connect(bob)
        await alice_socket.send_json_to(typing_frame(conversation.pk))
        assert (await bob_socket.next_event())["type"] == "typing"
        await run(conversation_actions.do_end_conversation)(conversation)
        assert (await alice_socket.next_event())["type"] == "ended-conversation"
        assert (await bob_socket.next_event())["type"] == "ended-conversation"
        # The ending's control message (sent after that event) reaches alice's connection
        # before anything published after it: a notification of hers.
        await run(notification_actions.do_request_contact)(bob.user, alice.id)
        assert (await alice_socket.next_event())["type"] == "notification"
        await alice_socket.send_json_to(typing_frame(conversation.pk))
        assert await alice_socket.next_event() == {
            "type": "error",
            "location": f"/conversations/{conversation.pk}",
            "data": {"reason": "conversation has ended", "conversation": conversation.pk},
        }
        await bob_socket.assert_silent()

    async def test_live_conversation_past_its_expiry_refuses_typing(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        conversation = await conversation_of(alice, bob, live=True)
        await run(
            lambda: Conversation.objects.filter(pk=conversation.pk).update(
                expiry_time=timezone.now()
            )
        )()
        alice_socket, bob_socket = await connect(alice), await connect(bob)
        await alice_socket.send_json_to(typing_frame(conversation.pk))
        assert (await alice_socket.next_event())["data"]["reason"] == "conversation has ended"
        await bob_socket.assert_silent()

    async def test_at_most_three_typing_frames_a_second_are_forwarded(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        conversation = await conversation_of(alice, bob)
        alice_socket, bob_socket = await connect(alice), await connect(bob)
        for i in range(10):
            await alice_socket.send_json_to(typing_frame(conversation.pk, i % 2 == 0))
        # The excess is dropped, not delayed: nothing more comes after the first second.
        first_second = await received_within(bob_socket, 1.0)
        assert [e["data"]["typing"] for e in first_second] == [True, False, True]
        await bob_socket.assert_silent(0.5)
        await alice_socket.assert_silent()  # dropped silently: no error either
        # Once the window has passed, frames are forwarded again.
        await alice_socket.send_json_to(typing_frame(conversation.pk, False))
        assert (await bob_socket.next_event())["data"]["typing"] is False

    async def test_each_connection_has_its_own_limit(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        conversation = await conversation_of(alice, bob)
        phone, laptop, bob_socket = await connect(alice), await connect(alice), await connect(bob)
        for socket in (phone, laptop):
            for _ in range(4):
                await socket.send_json_to(typing_frame(conversation.pk))
        assert len(await received_within(bob_socket, 0.8)) == 6


class TestPresence:
    async def test_presence_reaches_those_who_share_an_open_conversation(
        self, connect: Connect, alice: Member, bob: Member, carol: Member, dave: Member
    ) -> None:
        await conversation_of(alice, bob)
        ended = await conversation_of(alice, carol, live=True)
        await run(conversation_actions.do_end_conversation)(ended)
        dave_left = await conversation_of(alice, dave, carol)
        await run(conversation_actions.do_leave_conversation)(dave_left, dave.user)
        alice_phone, alice_laptop = await connect(alice), await connect(alice)
        bob_socket, carol_socket, dave_socket = (
            await connect(bob),
            await connect(carol),
            await connect(dave),
        )
        await alice_phone.send_json_to({"action": "PRESENCE", "form": "mobile"})
        bob_event = await bob_socket.next_event()
        stored = await run(lambda: User.objects.get(pk=alice.id))()
        assert stored.presence_form == "mobile" and stored.presence_at is not None
        expected = {
            "type": "presence",
            "location": f"/user/{alice.id}",
            "data": {"user": alice.id, "form": "mobile", "at": format_time(stored.presence_at)},
        }
        assert bob_event == expected
        # carol still shares dave_left with alice; dave left it, and bob shares the first one.
        assert await carol_socket.next_event() == expected
        for socket in (alice_phone, alice_laptop, dave_socket):
            await socket.assert_silent()
        assert await live_types_recorded() == []

    async def test_sharing_only_an_ended_or_left_conversation_is_not_enough(
        self, connect: Connect, alice: Member, bob: Member, carol: Member
    ) -> None:
        ended = await conversation_of(alice, bob, live=True)
        await run(conversation_actions.do_end_conversation)(ended)
        left = await conversation_of(alice, carol)
        await run(conversation_actions.do_leave_conversation)(left, alice.user)
        alice_socket = await connect(alice)
        bob_socket, carol_socket = await connect(bob), await connect(carol)
        await alice_socket.send_json_to({"action": "presence", "form": "desktop"})
        await bob_socket.assert_silent(0.5)
        await carol_socket.assert_silent()
        stored = await run(lambda: User.objects.get(pk=alice.id))()
        assert stored.presence_form == "desktop"

    async def test_presence_is_in_the_user_resource(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        await conversation_of(alice, bob)
        alice_socket, bob_socket = await connect(alice), await connect(bob)
        await alice_socket.send_json_to({"action": "presence", "form": "desktop"})
        event = await bob_socket.next_event()
        response = await run(bob.client.get)(f"/api/v1/user/{alice.id}")
        assert response.json()["presence"] == {"form": "desktop", "at": event["data"]["at"]}

    async def test_at_most_three_presence_frames_a_second_are_forwarded(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        await conversation_of(alice, bob)
        alice_socket, bob_socket = await connect(alice), await connect(bob)
        for i in range(10):
            await alice_socket.send_json_to(
                {"action": "presence", "form": "mobile" if i % 2 else "desktop"}
            )
        first_second = await received_within(bob_socket, 1.0)
        assert [e["data"]["form"] for e in first_second] == ["desktop", "mobile", "desktop"]
        await bob_socket.assert_silent(0.5)
        stored = await run(lambda: User.objects.get(pk=alice.id))()
        assert stored.presence_form == "desktop"


class TestGroupConversations:
    async def test_group_message_carries_the_network_in_event_and_rest(
        self, connect: Connect, alice: Member, bob: Member, carol: Member
    ) -> None:
        network = await campus(alice, bob, carol)
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id, carol.id], group=network.pk
        )
        bob_socket = await connect(bob)
        response = await run(alice.client.post)(
            f"/api/v1/conversations/{conversation.pk}/messages", {"text": "hi group"}
        )
        assert response.status_code == 201
        event = await bob_socket.next_event()
        assert event["type"] == "message"
        assert event["data"]["group"] == network.pk
        assert event["data"] == response.json()
        listed = await run(bob.client.get)(f"/api/v1/conversations/{conversation.pk}/messages")
        assert listed.json() == [{**event["data"], "seen": listed.json()[0]["seen"]}]

    async def test_message_of_a_plain_conversation_has_no_group(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        await campus(alice, bob)
        conversation = await conversation_of(alice, bob)
        bob_socket = await connect(bob)
        message = await run(conversation_actions.do_send_message)(conversation, alice.user, "x")
        event = await bob_socket.next_event()
        assert "group" not in event["data"]
        assert event["data"] == await run(message_data)(message)


class TestBadFrames:
    @pytest.mark.parametrize(
        ("frame", "reason_part"),
        [
            ('{"action": "SUBSCRIBE", "networks": "1"}', "list"),
            ('{"action": "SUBSCRIBE", "networks": [0]}', "positive"),
            ('{"action": "SUBSCRIBE", "networks": [true]}', "positive"),
            ('{"action": "SUBSCRIBE", "posts": [1], "networks": [-1]}', "positive"),
            ('{"action": "SUBSCRIBE", "networks": null}', "list"),
            ('{"action": "UNSUBSCRIBE"}', "list"),
            ('{"action": "UNSUBSCRIBE", "networks": {"a": 1}}', "list"),
            ('{"action": "SUBSCRIBE", "networks": [' + ",".join(["1"] * 101) + "]}", "at most"),
            ('{"action": "typing"}', "conversation"),
            ('{"action": "typing", "conversation": "5", "typing": true}', "conversation"),
            ('{"action": "typing", "conversation": 0, "typing": true}', "conversation"),
            ('{"action": "typing", "conversation": 5, "typing": "yes"}', "typing"),
            ('{"action": "typing", "conversation": 5, "typing": 1}', "typing"),
            ('{"action": "typing", "conversation": 5}', "typing"),
            ('{"action": "presence"}', "form"),
            ('{"action": "presence", "form": "tablet"}', "form"),
            ('{"action": "presence", "form": "Mobile"}', "form"),
            ('{"action": "presence", "form": ["mobile"]}', "form"),
        ],
    )
    async def test_bad_frame_gets_error_and_changes_nothing(
        self,
        connect: Connect,
        alice: Member,
        bob: Member,
        frame: str,
        reason_part: str,
    ) -> None:
        network = await campus(alice, bob)
        await conversation_of(alice, bob)
        alice_socket, bob_socket = await connect(alice), await connect(bob)
        await subscribe(bob_socket, networks=[network.pk])
        await alice_socket.send_to(text_data=frame)
        event = await alice_socket.next_event()
        assert event["type"] == "error"
        assert "location" not in event
        assert reason_part in event["data"]["reason"]
        await bob_socket.assert_silent()
        stored = await run(lambda: User.objects.get(pk=alice.id))()
        assert stored.presence_form == "" and stored.presence_at is None
        # bob's subscription is as it was.
        await new_post(network, alice)
        assert (await bob_socket.next_event())["type"] == "post"
