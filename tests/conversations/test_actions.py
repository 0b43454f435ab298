"""Conversation actions announce each domain fact exactly once, and nothing on failure."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from conversations import actions, signals
from conversations.models import Conversation, Message, Participant
from gleepost.exceptions import InvalidInput, NotAllowed
from realtime.models import StreamEvent
from tests.conftest import Member
from tests.signal_recorder import recording

pytestmark = pytest.mark.django_db


def test_create_announces_every_participant(alice: Member, bob: Member, carol: Member) -> None:
    with recording(signals.conversation_created) as sent:
        conversation, created = actions.do_create_conversation(alice.user, [bob.id, carol.id])
    assert created
    assert sent == [
        signals.ConversationCreated(
            conversation=conversation, user_ids=[alice.id, bob.id, carol.id]
        )
    ]


def test_returning_existing_conversation_announces_nothing(alice: Member, bob: Member) -> None:
    actions.do_create_conversation(alice.user, [bob.id])
    with recording(signals.conversation_created) as sent:
        _, created = actions.do_create_conversation(bob.user, [alice.id])
    assert not created
    assert sent == []


def test_message_announced_once(alice: Member, bob: Member) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    with recording(signals.message_sent) as sent:
        message = actions.do_send_message(conversation, bob.user, "hi")
    # With everyone's read marker as it was sent: the event's recipients and its "seen".
    assert sent == [signals.MessageSent(message=message, read_markers={alice.id: 0, bob.id: 0})]


def run_at_once(tasks: list[Callable[[], object]]) -> list[BaseException]:
    """Run each task in its own thread (and database connection), released together."""
    barrier = threading.Barrier(len(tasks))
    errors: list[BaseException] = []

    def run(task: Callable[[], object]) -> None:
        try:
            barrier.wait()
            task()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def stream(member: Member) -> list[tuple[str, int | None]]:
    """The member's stream events in order: (type, message id for a message event)."""
    events = StreamEvent.objects.filter(stream_id=member.id).order_by("seq")
    return [
        (e.type, json.loads(e.text)["data"]["id"] if e.type == "message" else None) for e in events
    ]


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_and_an_addition_keep_every_stream_in_message_order(
    alice: Member, bob: Member, carol: Member, dave: Member
) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id, carol.id])
    tasks: list[Callable[[], object]] = [
        lambda user=member.user: actions.do_send_message(conversation, user, "hi")
        for member in (alice, bob, carol) * 4
    ]
    tasks.insert(6, lambda: actions.do_add_participants(conversation, alice.user, [dave.id]))
    assert run_at_once(tasks) == []
    ids = list(Message.objects.order_by("id").values_list("id", flat=True))
    assert len(ids) == 12
    # Sends and the addition take the conversation's lock in turn: each stream has every
    # message sent while its user was in, once, in the order of their ids.
    for member in (alice, bob, carol):
        messages = [m for kind, m in stream(member) if kind == "message"]
        assert messages == ids
    joined = stream(dave)
    assert joined[0] == ("new-conversation", None)
    messages = [m for _, m in joined[1:]]
    assert messages == ids[len(ids) - len(messages) :]
    newest = Message.objects.order_by("-id").first()
    assert newest is not None
    assert Conversation.objects.get().last_activity == newest.timestamp


def test_rolled_back_message_leaves_nothing(alice: Member, bob: Member) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.do_send_message(conversation, bob.user, "hi")
        raise RuntimeError("the caller's transaction fails after the action")
    assert not Message.objects.exists()


def test_read_announced_only_when_marker_moves(alice: Member, bob: Member) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    first = actions.do_send_message(conversation, bob.user, "1")
    second = actions.do_send_message(conversation, bob.user, "2")
    with recording(signals.messages_read) as sent:
        assert actions.do_mark_read(conversation, alice.user, second.pk)
        assert not actions.do_mark_read(conversation, alice.user, second.pk)
        assert not actions.do_mark_read(conversation, alice.user, first.pk)
    assert sent == [
        signals.MessagesRead(conversation=conversation, user_id=alice.id, last_read=second.pk)
    ]


def test_end_announced_once_and_only_for_live(alice: Member, bob: Member) -> None:
    live, _ = actions.do_create_conversation(alice.user, [bob.id], live=True)
    regular, _ = actions.do_create_conversation(alice.user, [bob.id])
    with recording(signals.conversation_ended) as sent:
        assert actions.do_end_conversation(live)
        assert not actions.do_end_conversation(live)
        with pytest.raises(InvalidInput):
            actions.do_end_conversation(regular)
    assert [s.conversation.pk for s in sent] == [live.pk]
    assert sent[0].conversation.ended


def test_make_regular_announced(alice: Member, bob: Member) -> None:
    live, _ = actions.do_create_conversation(alice.user, [bob.id], live=True)
    with recording(signals.conversation_made_regular) as sent:
        actions.do_make_regular(live)
    assert len(sent) == 1
    assert sent[0].conversation.expiry_time is None
    with pytest.raises(InvalidInput):
        actions.do_make_regular(live)


def test_add_participants_announces_only_new_ones(
    alice: Member, bob: Member, carol: Member, dave: Member
) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id, carol.id])
    with recording(signals.participants_added) as sent:
        added = actions.do_add_participants(conversation, alice.user, [bob.id, dave.id])
    assert added == [dave.id]
    assert sent == [
        signals.ParticipantsAdded(
            conversation=conversation,
            user_ids=[dave.id],
            existing_user_ids=sorted([alice.id, bob.id, carol.id]),
        )
    ]


def test_leaving_announced_and_rejoining_works(alice: Member, bob: Member, carol: Member) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id, carol.id])
    with recording(signals.participant_left) as sent:
        actions.do_leave_conversation(conversation, carol.user)
    assert sent == [
        signals.ParticipantLeft(
            conversation=conversation, user_id=carol.id, remaining_user_ids=[alice.id, bob.id]
        )
    ]
    with recording(signals.participants_added) as added:
        assert actions.do_add_participants(conversation, alice.user, [carol.id]) == [carol.id]
    assert Participant.objects.get(user=carol.user).left_at is None
    # Who left and came back is a newcomer again, not one of those already in it.
    assert [(a.user_ids, a.existing_user_ids) for a in added] == [
        ([carol.id], sorted([alice.id, bob.id]))
    ]


def test_sending_into_expired_conversation_ends_it_and_refuses(alice: Member, bob: Member) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id], live=True)
    Conversation.objects.filter(pk=conversation.pk).update(
        expiry_time=timezone.now() - timedelta(seconds=1)
    )
    conversation.refresh_from_db()
    with recording(signals.conversation_ended) as ended, pytest.raises(NotAllowed):
        actions.do_send_message(conversation, alice.user, "too late")
    assert len(ended) == 1
    assert Conversation.objects.get().ended
    assert not Message.objects.exists()


def test_expiry_command_ends_only_due_conversations(alice: Member, bob: Member) -> None:
    due, _ = actions.do_create_conversation(alice.user, [bob.id], live=True)
    later, _ = actions.do_create_conversation(alice.user, [bob.id], live=True)
    regular, _ = actions.do_create_conversation(alice.user, [bob.id])
    Conversation.objects.filter(pk=due.pk).update(expiry_time=timezone.now())
    with recording(signals.conversation_ended) as sent:
        call_command("end_expired_conversations")
    assert [s.conversation.pk for s in sent] == [due.pk]
    assert set(Conversation.objects.filter(ended=True).values_list("pk", flat=True)) == {due.pk}
    assert not Conversation.objects.get(pk=later.pk).ended
    assert not Conversation.objects.get(pk=regular.pk).ended
