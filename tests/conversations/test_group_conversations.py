"""Group conversations: a conversation that belongs to a network (issue 4), over REST and actions.

alice, bob and carol are members of Campus (tests/posts/conftest.py's roles); dave is not.
"""

from __future__ import annotations

import pytest

from conversations import actions, signals
from conversations.models import Conversation, Participant
from gleepost.exceptions import InvalidInput, NotFound
from posts.actions import do_add_network_members, do_create_network
from posts.models import Network
from tests.conftest import Member
from tests.signal_recorder import recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def campus(alice: Member, bob: Member, carol: Member) -> Network:
    network = do_create_network(alice.user, "Campus")
    do_add_network_members(network, alice.user, [bob.id, carol.id])
    return network


def create(member: Member, *others: Member, **extra: object) -> tuple[int, dict]:
    params = {"participants": ",".join(str(o.id) for o in others), **extra}
    response = member.client.post("/api/v1/conversations", params)
    return response.status_code, response.json()


class TestCreate:
    def test_group_conversation_carries_its_network(
        self, alice: Member, bob: Member, carol: Member, campus: Network
    ) -> None:
        status, body = create(alice, bob, carol, group=campus.pk)
        assert status == 201
        assert body["group"] == campus.pk
        assert Conversation.objects.get(pk=body["id"]).group_id == campus.pk
        assert [p["id"] for p in body["participants"]] == [alice.id, bob.id, carol.id]

    def test_with_group_a_conversation_of_two_is_always_new(
        self, alice: Member, bob: Member, campus: Network
    ) -> None:
        plain_status, plain = create(alice, bob)
        first_status, first = create(alice, bob, group=campus.pk)
        second_status, second = create(bob, alice, group=str(campus.pk))
        assert (plain_status, first_status, second_status) == (201, 201, 201)
        assert len({plain["id"], first["id"], second["id"]}) == 3
        # And the plain "existing conversation between two" rule never returns a group one.
        again_status, again = create(bob, alice)
        assert (again_status, again["id"]) == (200, plain["id"])
        assert "group" not in again

    def test_plain_request_does_not_return_a_group_conversation(
        self, alice: Member, bob: Member, campus: Network
    ) -> None:
        _, group = create(alice, bob, group=campus.pk)
        status, plain = create(alice, bob)
        assert status == 201
        assert plain["id"] != group["id"] and "group" not in plain

    @pytest.mark.parametrize("network", ["theirs", "missing"])
    def test_caller_outside_the_network_gets_not_found(
        self, alice: Member, bob: Member, dave: Member, campus: Network, network: str
    ) -> None:
        group = campus.pk if network == "theirs" else 987654
        status, body = create(dave, alice, group=group)
        assert (status, body) == (404, {"error": "Not found"})
        assert not Conversation.objects.exists()

    def test_participant_outside_the_network_is_bad_input(
        self, alice: Member, bob: Member, dave: Member, campus: Network
    ) -> None:
        status, body = create(alice, bob, dave, group=campus.pk)
        assert status == 400
        assert body["error"].startswith("participants:")
        assert str(dave.id) in body["error"]
        assert not Conversation.objects.exists()

    @pytest.mark.parametrize("group", ["campus", "0", "-1", "1.5"])
    def test_malformed_group_is_bad_input(
        self, alice: Member, bob: Member, campus: Network, group: str
    ) -> None:
        status, body = create(alice, bob, group=group)
        assert status == 400 and body["error"].startswith("group:")

    def test_action_announces_the_new_group_conversation(
        self, alice: Member, bob: Member, campus: Network
    ) -> None:
        with recording(signals.conversation_created) as sent:
            conversation, created = actions.do_create_conversation(
                alice.user, [bob.id], group=campus.pk
            )
        assert created and conversation.group_id == campus.pk
        assert sent == [
            signals.ConversationCreated(conversation=conversation, user_ids=[alice.id, bob.id])
        ]

    def test_action_refuses_outsiders(
        self, alice: Member, bob: Member, dave: Member, campus: Network
    ) -> None:
        with pytest.raises(NotFound):
            actions.do_create_conversation(dave.user, [alice.id], group=campus.pk)
        with pytest.raises(InvalidInput, match="participants"):
            actions.do_create_conversation(alice.user, [dave.id], group=campus.pk)


class TestShapes:
    def test_group_messages_carry_group_in_every_rest_response(
        self, alice: Member, bob: Member, campus: Network
    ) -> None:
        _, conversation = create(alice, bob, group=campus.pk)
        url = f"/api/v1/conversations/{conversation['id']}"
        sent = alice.client.post(f"{url}/messages", {"text": "hi group"}).json()
        assert sent["group"] == campus.pk
        listed = bob.client.get(f"{url}/messages").json()
        assert listed == [sent]
        detail = bob.client.get(url).json()
        assert detail["group"] == campus.pk
        assert detail["messages"] == [sent]
        assert [c["group"] for c in bob.client.get("/api/v1/conversations").json()] == [campus.pk]
        marked = bob.client.put(f"{url}/messages", {"seen": sent["id"]}).json()
        assert marked["messages"][0]["group"] == campus.pk

    def test_other_conversations_have_no_group_key(
        self, alice: Member, bob: Member, campus: Network
    ) -> None:
        _, conversation = create(alice, bob, live="true")
        url = f"/api/v1/conversations/{conversation['id']}"
        sent = alice.client.post(f"{url}/messages", {"text": "hi"}).json()
        assert set(sent) == {"id", "by", "text", "timestamp", "seen"}
        assert "group" not in bob.client.get(f"{url}/messages").json()[0]
        detail = bob.client.get(url).json()
        assert "group" not in detail and "group" not in detail["messages"][0]

    def test_a_deleted_network_leaves_a_plain_conversation(
        self, alice: Member, bob: Member, campus: Network
    ) -> None:
        _, conversation = create(alice, bob, group=campus.pk)
        Network.objects.filter(pk=campus.pk).delete()
        detail = bob.client.get(f"/api/v1/conversations/{conversation['id']}").json()
        assert "group" not in detail


class TestAddParticipants:
    def test_only_network_members_may_be_added(
        self, alice: Member, bob: Member, carol: Member, dave: Member, campus: Network
    ) -> None:
        _, conversation = create(alice, bob, group=campus.pk)
        url = f"/api/v1/conversations/{conversation['id']}/participants"
        refused = alice.client.post(url, {"users": f"{carol.id},{dave.id}"})
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error.startswith("users:") and str(dave.id) in error
        assert Participant.objects.filter(conversation_id=conversation["id"]).count() == 2
        added = alice.client.post(url, {"users": str(carol.id)})
        assert added.status_code == 200
        assert [p["id"] for p in added.json()] == [alice.id, bob.id, carol.id]

    def test_plain_conversations_take_anyone(
        self, alice: Member, bob: Member, dave: Member, campus: Network
    ) -> None:
        _, conversation = create(alice, bob)
        url = f"/api/v1/conversations/{conversation['id']}/participants"
        assert alice.client.post(url, {"users": str(dave.id)}).status_code == 200
