"""Who is in which conversation, as typing and presence ask it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from conversations import actions
from conversations.models import Conversation
from conversations.selectors import co_participant_ids, participation
from tests.conftest import Member

pytestmark = pytest.mark.django_db


def test_participation_of_a_participant(
    alice: Member, bob: Member, carol: Member, django_assert_num_queries: Any
) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id, carol.id])
    with django_assert_num_queries(1):
        standing = participation(bob.id, conversation.pk)
    assert standing.participant
    assert standing.others == (alice.id, carol.id)
    assert standing.is_open(timezone.now())


@pytest.mark.parametrize("who", ["outsider", "missing conversation", "left"])
def test_participation_of_someone_not_in_it(
    alice: Member, bob: Member, carol: Member, dave: Member, who: str
) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id, carol.id])
    actions.do_leave_conversation(conversation, carol.user)
    user, conversation_id = {
        "outsider": (dave.id, conversation.pk),
        "missing conversation": (alice.id, 987654),
        "left": (carol.id, conversation.pk),
    }[who]
    standing = participation(user, conversation_id)
    assert not standing.participant and standing.others == ()


def test_participation_in_ended_and_expired_conversations(alice: Member, bob: Member) -> None:
    ended, _ = actions.do_create_conversation(alice.user, [bob.id], live=True)
    actions.do_end_conversation(ended)
    expired, _ = actions.do_create_conversation(alice.user, [bob.id], live=True)
    Conversation.objects.filter(pk=expired.pk).update(expiry_time=timezone.now())
    live, _ = actions.do_create_conversation(alice.user, [bob.id], live=True)
    now = timezone.now()
    assert not participation(alice.id, ended.pk).is_open(now)
    assert not participation(alice.id, expired.pk).is_open(now)
    standing = participation(alice.id, live.pk)
    assert standing.is_open(now)
    # A connection that keeps the answer still sees the conversation close at its expiry.
    assert not standing.is_open(now + timedelta(minutes=11))


def test_co_participants_share_an_open_conversation(
    alice: Member, bob: Member, carol: Member, dave: Member, make_member: Any
) -> None:
    erin = make_member("erin")
    actions.do_create_conversation(alice.user, [bob.id])
    ended, _ = actions.do_create_conversation(alice.user, [carol.id], live=True)
    actions.do_end_conversation(ended)
    left, _ = actions.do_create_conversation(alice.user, [dave.id, erin.id])
    actions.do_leave_conversation(left, dave.user)
    assert co_participant_ids(alice.id) == {bob.id, erin.id}
    assert co_participant_ids(carol.id) == set()
    assert co_participant_ids(dave.id) == set()
    actions.do_leave_conversation(left, alice.user)
    assert co_participant_ids(alice.id) == {bob.id}
