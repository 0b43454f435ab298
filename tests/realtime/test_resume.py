"""Resumable streams inside one process: positions, replay, the seam, resync, gap filling."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from conversations import actions as conversation_actions
from conversations.models import Conversation, Message
from realtime import history
from realtime.events import message_event
from realtime.models import StreamEvent, UserStream
from tests.conftest import Member
from tests.realtime.conftest import Connect, Socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

run = database_sync_to_async


async def chat(alice: Member, bob: Member) -> Conversation:
    conversation, _ = await run(conversation_actions.do_create_conversation)(alice.user, [bob.id])
    return conversation


async def send_messages(conversation: Conversation, sender: Member, count: int) -> list[int]:
    ids = []
    for i in range(count):
        message = await run(conversation_actions.do_send_message)(
            conversation, sender.user, f"m{i}"
        )
        ids.append(message.pk)
    return ids


async def position(member: Member) -> history.Position:
    return await run(history.current_position)(member.id)


async def received(socket: Socket, count: int) -> list[dict[str, Any]]:
    return [await socket.next_raw_event() for _ in range(count)]


async def test_positions_increase_by_one_per_user(
    connect: Connect, alice: Member, bob: Member
) -> None:
    conversation = await chat(alice, bob)  # new-conversation is seq 1 for both
    socket = await connect(bob)
    await send_messages(conversation, alice, 3)
    events = await received(socket, 3)
    start = await position(bob)
    assert [e["seq"] for e in events] == [2, 3, 4]
    assert {e["epoch"] for e in events} == {start.epoch}
    assert start.seq == 4


async def test_resume_by_query_replays_exactly_what_was_missed(
    connect: Connect, alice: Member, bob: Member
) -> None:
    conversation = await chat(alice, bob)
    first = await connect(bob)
    await send_messages(conversation, alice, 2)
    seen = await received(first, 2)
    await first.disconnect()
    missed = await send_messages(conversation, alice, 5)
    last = seen[-1]
    socket = await connect(
        bob, query=f"id={bob.id}&token={bob.token}&since={last['seq']}&epoch={last['epoch']}"
    )
    replayed = await received(socket, 5)
    assert [e["data"]["id"] for e in replayed] == missed
    assert [e["seq"] for e in replayed] == list(range(last["seq"] + 1, last["seq"] + 6))
    await socket.assert_silent()
    # Then live events follow, with the next position.
    await send_messages(conversation, alice, 1)
    assert (await socket.next_raw_event())["seq"] == last["seq"] + 6


async def test_resume_by_first_frame(connect: Connect, alice: Member, bob: Member) -> None:
    conversation = await chat(alice, bob)
    start = await position(bob)
    missed = await send_messages(conversation, alice, 3)
    socket = await connect(bob)
    await socket.send_json_to({"action": "RESUME", "since": start.seq, "epoch": start.epoch})
    replayed = await received(socket, 3)
    assert [e["data"]["id"] for e in replayed] == missed
    await socket.assert_silent()


async def test_resume_replays_the_changed_conversation_of_an_addition_not_of_a_leave(
    connect: Connect, alice: Member, bob: Member, carol: Member, dave: Member
) -> None:
    conversation, _ = await run(conversation_actions.do_create_conversation)(
        alice.user, [bob.id, carol.id]
    )
    start, carol_from = await position(bob), await position(carol)
    await run(conversation_actions.do_add_participants)(conversation, alice.user, [dave.id])
    await run(conversation_actions.do_leave_conversation)(conversation, carol.user)
    for member, since in ((bob, start), (carol, carol_from)):
        socket = await connect(
            member,
            query=f"id={member.id}&token={member.token}&since={since.seq}&epoch={since.epoch}",
        )
        # The addition's event alone: a leave is not announced (rest-api.md).
        replayed = await received(socket, 1)
        assert [e["seq"] for e in replayed] == [since.seq + 1]
        assert [(e["type"], [p["id"] for p in e["data"]["participants"]]) for e in replayed] == [
            ("changed-conversation", [alice.id, bob.id, carol.id, dave.id])
        ]
        await socket.assert_silent()


async def test_resume_at_current_position_replays_nothing(
    connect: Connect, alice: Member, bob: Member
) -> None:
    await chat(alice, bob)
    now = await position(bob)
    socket = await connect(
        bob, query=f"id={bob.id}&token={bob.token}&since={now.seq}&epoch={now.epoch}"
    )
    await socket.assert_silent()


@pytest.mark.parametrize("case", ["wrong epoch", "from the future", "pruned"])
async def test_unresumable_position_gets_resync_required(
    connect: Connect, alice: Member, bob: Member, case: str
) -> None:
    conversation = await chat(alice, bob)
    await send_messages(conversation, alice, 3)
    now = await position(bob)
    since, epoch = 1, now.epoch
    if case == "wrong epoch":
        epoch = "deadbeef"
    elif case == "from the future":
        since = now.seq + 10
    else:
        await run(lambda: StreamEvent.objects.filter(stream_id=bob.id, seq__lte=2).delete())()
    socket = await connect(bob, query=f"id={bob.id}&token={bob.token}&since={since}&epoch={epoch}")
    assert await socket.next_raw_event() == {
        "type": "resync-required",
        "data": {"since": now.seq, "epoch": now.epoch},
    }
    await socket.assert_silent()
    await send_messages(conversation, alice, 1)
    assert (await socket.next_raw_event())["seq"] == now.seq + 1


async def test_malformed_resume_gets_error_then_resync(
    connect: Connect, alice: Member, bob: Member
) -> None:
    await chat(alice, bob)
    now = await position(bob)
    socket = await connect(bob, query=f"id={bob.id}&token={bob.token}&since=abc&epoch=x")
    assert (await socket.next_raw_event())["type"] == "error"
    assert (await socket.next_raw_event())["data"] == {"since": now.seq, "epoch": now.epoch}


async def test_rolled_back_change_stores_nothing_and_uses_no_position(
    connect: Connect, alice: Member, bob: Member
) -> None:
    conversation = await chat(alice, bob)
    before = await position(bob)

    def send_then_fail() -> None:
        with transaction.atomic():
            conversation_actions.do_send_message(conversation, alice.user, "doomed")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await run(send_then_fail)()
    assert await position(bob) == before
    assert not await run(
        lambda: StreamEvent.objects.filter(stream_id=bob.id, seq__gt=before.seq).exists()
    )()


async def test_lost_live_publish_is_filled_from_history(
    connect: Connect, alice: Member, bob: Member
) -> None:
    conversation = await chat(alice, bob)
    socket = await connect(bob)
    lost = await send_messages(conversation, alice, 1)

    # An event recorded but never published (as when Redis was unreachable at commit).
    def record_without_publishing() -> int:
        message = Message.objects.create(
            conversation=conversation, by=alice.user, text="unpublished"
        )
        with transaction.atomic():
            history.record(message_event(message), [alice.id, bob.id])
        return message.pk

    assert (await socket.next_raw_event())["data"]["id"] == lost[0]
    silent_id = await run(record_without_publishing)()
    await socket.assert_silent()
    later = await send_messages(conversation, alice, 1)
    events = await received(socket, 2)
    assert [e["data"]["id"] for e in events] == [silent_id, later[0]]
    assert events[1]["seq"] == events[0]["seq"] + 1
    await socket.assert_silent()


async def test_duplicate_live_copy_is_dropped(connect: Connect, alice: Member, bob: Member) -> None:
    from realtime.groups import user_group
    from realtime.publish import CHANNEL_MESSAGE_TYPE, publisher

    conversation = await chat(alice, bob)
    socket = await connect(bob)
    await send_messages(conversation, alice, 1)
    event = await socket.next_raw_event()
    stored = await run(lambda: StreamEvent.objects.get(stream_id=bob.id, seq=event["seq"]).text)()
    publisher.send(
        [user_group(bob.id)],
        {
            "type": CHANNEL_MESSAGE_TYPE,
            "text": stored,
            "seq": event["seq"],
            "epoch": event["epoch"],
        },
        "a replayed copy",
    )
    await socket.assert_silent(0.5)


async def test_stream_events_are_stored_as_sent(
    connect: Connect, alice: Member, bob: Member
) -> None:
    conversation = await chat(alice, bob)
    socket = await connect(bob)
    await send_messages(conversation, alice, 1)
    raw = await socket.receive_from()
    stored = await run(lambda: list(StreamEvent.objects.filter(stream_id=bob.id).order_by("seq")))()
    assert stored[-1].text == raw
    assert stored[-1].type == "message"


async def test_new_user_stream_starts_at_zero(connect: Connect, carol: Member) -> None:
    await connect(carol)
    stream = await run(UserStream.objects.get)(user_id=carol.id)
    assert stream.last_seq == 0
    assert len(stream.epoch) == 8


async def test_prune_drops_old_and_surplus_events(
    alice: Member, bob: Member, settings: Any
) -> None:
    conversation = await chat(alice, bob)
    await send_messages(conversation, alice, 5)  # bob's stream: seq 1..6
    await run(
        lambda: StreamEvent.objects.filter(stream_id=bob.id, seq=1).update(
            created_at=timezone.now() - timedelta(hours=25)
        )
    )()
    settings.GLEEPOST = {"EVENT_HISTORY_PER_USER": 3}
    await run(call_command)("prune_event_history")
    kept = await run(
        lambda: list(
            StreamEvent.objects.filter(stream_id=bob.id)
            .values_list("seq", flat=True)
            .order_by("seq")
        )
    )()
    assert kept == [4, 5, 6]
    # Alice's stream was pruned by the same rule.
    assert await run(StreamEvent.objects.filter(stream_id=alice.id).count)() == 3


async def test_late_resume_frame_gets_resync_instead_of_out_of_order_replay(
    connect: Connect, alice: Member, bob: Member
) -> None:
    conversation = await chat(alice, bob)
    before = await position(bob)
    await send_messages(conversation, alice, 2)  # missed before connecting
    socket = await connect(bob)
    await send_messages(conversation, alice, 1)  # sent live on this connection
    live = await socket.next_raw_event()
    await socket.send_json_to({"action": "RESUME", "since": before.seq, "epoch": before.epoch})
    assert await socket.next_raw_event() == {
        "type": "resync-required",
        "data": {"since": live["seq"], "epoch": live["epoch"]},
    }
    await socket.assert_silent()


async def test_resume_frame_with_nothing_missed_replays_nothing(
    connect: Connect, alice: Member, bob: Member
) -> None:
    conversation = await chat(alice, bob)
    socket = await connect(bob)
    await send_messages(conversation, alice, 1)
    live = await socket.next_raw_event()
    await socket.send_json_to({"action": "RESUME", "since": live["seq"], "epoch": live["epoch"]})
    await socket.assert_silent()


async def test_stream_reset_while_connected_sends_resync_then_continues(
    connect: Connect, alice: Member, bob: Member
) -> None:
    conversation = await chat(alice, bob)
    socket = await connect(bob)
    old = await position(bob)
    # The history is lost (the stream row and its events deleted): a new epoch starts at 1.
    await run(lambda: UserStream.objects.filter(user_id=bob.id).delete())()
    await send_messages(conversation, alice, 1)
    resync = await socket.next_raw_event()
    event = await socket.next_raw_event()
    assert event["type"] == "message" and event["seq"] == 1
    assert event["epoch"] != old.epoch
    assert resync == {"type": "resync-required", "data": {"since": 0, "epoch": event["epoch"]}}


async def test_subscribe_sends_the_current_views_at_once(
    connect: Connect, alice: Member, bob: Member
) -> None:
    from posts import actions as post_actions
    from tests.realtime.test_consumers import make_post

    post = await make_post(alice, bob)
    watcher = await connect(bob)
    await watcher.subscribe_posts([post.pk])
    for _ in range(3):
        await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
    # That burst's coalesced events are out once the last count has reached a subscriber.
    while (await watcher.next_event())["data"] != {"views": 3}:
        pass
    socket = await connect(bob)
    assert await socket.subscribe_posts([post.pk]) == {post.pk: 3}
    await socket.assert_silent(1.5)  # and nothing more: the count did not change since


async def test_events_committed_while_the_connection_is_set_up_arrive_once_from_its_position(
    connect: Connect, alice: Member, bob: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handshake joins the user's group, then reads the position. A message committed just
    before that read is below the position (the client reads it over REST, as for anything
    before it opened), one committed just after it arrives live: each at most once, and the
    stream starts at the position read without a gap."""
    from realtime.consumer import handshake

    conversation = await chat(alice, bob)
    read_position = handshake._position_if_still_valid
    read: list[history.Position] = []

    async def position_with_messages_around(*args: Any) -> Any:
        before = (await send_messages(conversation, alice, 1))[0]
        state = await read_position(*args)
        assert state is not None
        read.append(state[0])
        after = (await send_messages(conversation, alice, 1))[0]
        ids.extend([before, after])
        return state

    ids: list[int] = []
    monkeypatch.setattr(handshake, "_position_if_still_valid", position_with_messages_around)
    socket = await connect(bob)
    event = await socket.next_raw_event()
    assert event["data"]["id"] == ids[1]
    assert event["seq"] == read[0].seq + 1
    assert event["epoch"] == read[0].epoch
    await socket.assert_silent()
    later = await send_messages(conversation, alice, 1)
    assert (await socket.next_raw_event())["data"]["id"] == later[0]
