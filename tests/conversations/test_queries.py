"""The SQL of sending a message answers as the querysets it stands for."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from conversations import actions, queries
from conversations.models import Conversation, Message, Participant
from tests.conftest import Member

pytestmark = pytest.mark.django_db


def test_conversation_of_is_the_conversation_of_its_present_participants(
    alice: Member, bob: Member, carol: Member
) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id, carol.id])
    Participant.objects.filter(conversation=conversation, user=carol.user).update(
        left_at=timezone.now()
    )
    found = queries.conversation_of(alice.id, conversation.pk)
    assert found is not None
    assert (found.pk, found.last_activity, found.group_id) == (
        conversation.pk,
        Conversation.objects.get().last_activity,
        None,
    )
    assert queries.conversation_of(carol.id, conversation.pk) is None  # left
    assert queries.conversation_of(alice.id, conversation.pk + 1) is None  # no such one


def test_read_markers_are_those_of_present_participants(
    alice: Member, bob: Member, carol: Member
) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id, carol.id])
    message = actions.do_send_message(conversation, alice.user, "hi")
    actions.do_mark_read(conversation, bob.user, message.pk)
    Participant.objects.filter(user=carol.user).update(left_at=timezone.now())
    assert queries.read_markers(conversation.pk) == {alice.id: 0, bob.id: message.pk}


def test_add_message_stores_what_it_returns_and_moves_last_activity(
    alice: Member, bob: Member
) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    message = queries.add_message(conversation, alice.user, "ünïcode ✓")
    stored = Message.objects.get()
    fields = [f.attname for f in Message._meta.concrete_fields]
    assert [getattr(message, f) for f in fields] == [getattr(stored, f) for f in fields]
    assert message.by is alice.user and message.conversation is conversation
    assert conversation.last_activity == message.timestamp
    assert Conversation.objects.get().last_activity == message.timestamp
    assert not message._state.adding


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_locked_conversation_holds_its_row_until_the_transaction_ends(
    alice: Member, bob: Member
) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    outcomes: list[str] = []

    def lock_elsewhere() -> None:
        try:
            with transaction.atomic():
                Conversation.objects.select_for_update(nowait=True).get(pk=conversation.pk)
            outcomes.append("locked")
        except DatabaseError:
            outcomes.append("busy")
        finally:
            connection.close()

    def attempt() -> None:
        thread = threading.Thread(target=lock_elsewhere)
        thread.start()
        thread.join(timeout=10)

    with transaction.atomic():
        locked = queries.locked_conversation(conversation.pk)
        assert locked is not None and locked.pk == conversation.pk
        attempt()
    attempt()
    assert outcomes == ["busy", "locked"]
    assert queries.locked_conversation(conversation.pk + 1) is None
