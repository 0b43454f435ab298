"""Admin actions go through the same actions (and signals) as the REST API."""

from __future__ import annotations

import pytest
from django.test import Client

from conversations import actions, signals
from conversations.models import Conversation, Participant
from tests.conftest import Member
from tests.signal_recorder import recording

pytestmark = pytest.mark.django_db


def run_action(client: Client, action: str, ids: list[int]) -> None:
    response = client.post(
        "/admin/conversations/conversation/",
        {"action": action, "_selected_action": [str(i) for i in ids]},
        follow=True,
    )
    assert response.status_code == 200


def test_end_conversation_action(admin_client: Client, alice: Member, bob: Member) -> None:
    live, _ = actions.do_create_conversation(alice.user, [bob.id], live=True)
    regular, _ = actions.do_create_conversation(alice.user, [bob.id])
    with recording(signals.conversation_ended) as sent:
        run_action(admin_client, "end_conversations", [live.pk, regular.pk])
    assert [s.conversation.pk for s in sent] == [live.pk]
    assert Conversation.objects.get(pk=live.pk).ended
    assert not Conversation.objects.get(pk=regular.pk).ended


def test_make_regular_action(admin_client: Client, alice: Member, bob: Member) -> None:
    live, _ = actions.do_create_conversation(alice.user, [bob.id], live=True)
    with recording(signals.conversation_made_regular) as sent:
        run_action(admin_client, "make_regular", [live.pk])
    assert len(sent) == 1
    assert Conversation.objects.get(pk=live.pk).expiry_time is None


@pytest.mark.parametrize(
    "url",
    [
        "/admin/conversations/conversation/",
        "/admin/conversations/message/",
        "/admin/conversations/participant/",
        "/admin/accounts/user/",
        "/admin/accounts/authtoken/",
    ],
)
def test_changelists_load_with_search(
    admin_client: Client, alice: Member, bob: Member, url: str
) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    actions.do_send_message(conversation, alice.user, "hello")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "alice"}).status_code == 200


def test_conversation_change_page_loads(admin_client: Client, alice: Member, bob: Member) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    response = admin_client.get(f"/admin/conversations/conversation/{conversation.pk}/change/")
    assert response.status_code == 200
    assert b"alice" in response.content or str(alice.id).encode() in response.content


def test_participants_cannot_be_added_changed_or_removed_in_the_admin(
    admin_client: Client, alice: Member, bob: Member, carol: Member
) -> None:
    # Joining and leaving are the actions' (which announce them): a participant deleted here
    # went on hearing the conversation's typing while the others' connections trusted their
    # copy of who is in it.
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id])
    participant = Participant.objects.get(conversation=conversation, user=bob.user)
    base = "/admin/conversations/participant"
    delete = admin_client.post(f"{base}/{participant.pk}/delete/", {"post": "yes"})
    change = admin_client.post(
        f"{base}/{participant.pk}/change/", {"conversation": conversation.pk, "user": carol.id}
    )
    add = admin_client.post(f"{base}/add/", {"conversation": conversation.pk, "user": carol.id})
    assert (delete.status_code, change.status_code, add.status_code) == (403, 403, 403)
    bulk = admin_client.post(
        f"{base}/",
        {"action": "delete_selected", "_selected_action": [participant.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert sorted(
        Participant.objects.filter(conversation=conversation).values_list("user_id", "left_at")
    ) == sorted([(alice.id, None), (bob.id, None)])
    # Still shown, read-only, on the conversation's page.
    page = admin_client.get(f"/admin/conversations/conversation/{conversation.pk}/change/")
    assert page.status_code == 200
    assert b"participants-0-user" not in page.content
    assert admin_client.get(f"{base}/{participant.pk}/change/").status_code == 200
