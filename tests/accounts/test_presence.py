"""A user's last presence: stored by do_set_presence, announced once, shown in GET user/{id}."""

from __future__ import annotations

import pytest
from django.db import transaction

from accounts import signals
from accounts.actions import do_set_presence
from accounts.models import User
from conversations import actions as conversation_actions
from gleepost.exceptions import InvalidInput
from gleepost.times import format_time
from tests.conftest import Member
from tests.signal_recorder import recording

pytestmark = pytest.mark.django_db


def test_set_presence_stores_and_announces_once(alice: Member) -> None:
    with recording(signals.presence_changed) as sent:
        at = do_set_presence(alice.user, "mobile")
    stored = User.objects.get(pk=alice.id)
    assert (stored.presence_form, stored.presence_at) == ("mobile", at)
    assert sent == [signals.PresenceChanged(user_id=alice.id, form="mobile", at=at)]


@pytest.mark.parametrize("form", ["", "tablet", "MOBILE"])
def test_unknown_form_is_refused_and_changes_nothing(alice: Member, form: str) -> None:
    with recording(signals.presence_changed) as sent, pytest.raises(InvalidInput, match="form"):
        do_set_presence(alice.user, form)
    assert sent == []
    stored = User.objects.get(pk=alice.id)
    assert (stored.presence_form, stored.presence_at) == ("", None)


def test_rolled_back_presence_leaves_nothing(alice: Member) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        do_set_presence(alice.user, "desktop")
        raise RuntimeError("rolled back")
    assert User.objects.get(pk=alice.id).presence_at is None


def test_user_resource_without_presence_is_the_plain_shape(alice: Member, bob: Member) -> None:
    response = bob.client.get(f"/api/v1/user/{alice.id}")
    assert response.json() == {
        "id": alice.id,
        "username": "alice",
        "profile_image": "https://img.example.com/alice.jpg",
    }


def test_user_resource_carries_the_last_presence(alice: Member, bob: Member) -> None:
    conversation_actions.do_create_conversation(alice.user, [bob.id])
    do_set_presence(alice.user, "desktop")
    at = do_set_presence(alice.user, "mobile")
    expected = {
        "id": alice.id,
        "username": "alice",
        "profile_image": "https://img.example.com/alice.jpg",
        "presence": {"form": "mobile", "at": format_time(at)},
    }
    assert bob.client.get(f"/api/v1/user/{alice.id}").json() == expected
    assert alice.client.get(f"/api/v1/user/{alice.id}").json() == expected


def test_presence_is_shown_only_to_who_would_get_the_event(
    alice: Member, bob: Member, carol: Member
) -> None:
    conversation, _ = conversation_actions.do_create_conversation(alice.user, [bob.id])
    do_set_presence(alice.user, "mobile")
    assert "presence" not in carol.client.get(f"/api/v1/user/{alice.id}").json()
    conversation_actions.do_leave_conversation(conversation, bob.user)
    assert "presence" not in bob.client.get(f"/api/v1/user/{alice.id}").json()


def test_embedded_users_keep_their_shape(alice: Member, bob: Member) -> None:
    do_set_presence(alice.user, "mobile")
    conversation, _ = conversation_actions.do_create_conversation(alice.user, [bob.id])
    url = f"/api/v1/conversations/{conversation.pk}"
    message = alice.client.post(f"{url}/messages", {"text": "hi"}).json()
    assert set(message["by"]) == {"id", "username", "profile_image"}
    detail = bob.client.get(url).json()
    assert all(set(p) == {"id", "username", "profile_image"} for p in detail["participants"])
