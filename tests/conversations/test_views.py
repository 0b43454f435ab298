"""The conversation endpoints: shapes, permissions and validation (rest-api.md, Conversations)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from conversations import signals
from conversations.models import Conversation, Message, Participant
from gleepost.times import parse_time
from realtime.models import StreamEvent
from tests.conftest import Member
from tests.signal_recorder import recording

pytestmark = pytest.mark.django_db


def create(member: Member, *others: Member, live: bool = False) -> dict:
    params = {"participants": ",".join(str(o.id) for o in others)}
    if live:
        params["live"] = "true"
    response = member.client.post("/api/v1/conversations", params)
    assert response.status_code in (200, 201), response.json()
    return response.json()


def send(member: Member, conversation_id: int, text: str = "hello") -> dict:
    response = member.client.post(
        f"/api/v1/conversations/{conversation_id}/messages", {"text": text}
    )
    assert response.status_code == 201, response.json()
    return response.json()


def user_shape(member: Member) -> dict:
    return {
        "id": member.id,
        "username": member.user.username,
        "profile_image": member.user.profile_image,
    }


class TestCreate:
    def test_regular_conversation_shape(self, alice: Member, bob: Member) -> None:
        response = alice.client.post("/api/v1/conversations", {"participants": str(bob.id)})
        assert response.status_code == 201
        body = response.json()
        conversation = Conversation.objects.get()
        assert body == {
            "id": conversation.pk,
            "lastActivity": body["lastActivity"],
            "participants": [user_shape(alice), user_shape(bob)],
        }
        assert parse_time(body["lastActivity"]) is not None
        assert "expiry" not in body

    def test_live_conversation_expires_after_configured_minutes(
        self, alice: Member, bob: Member, settings: object
    ) -> None:
        before = timezone.now()
        body = create(alice, bob, live=True)
        expiry = parse_time(body["expiry"]["time"])
        assert expiry is not None
        assert body["expiry"]["ended"] is False
        assert timedelta(minutes=10) <= expiry - before < timedelta(minutes=10, seconds=5)

    def test_existing_regular_conversation_is_returned_with_200(
        self, alice: Member, bob: Member
    ) -> None:
        first = create(alice, bob)
        again = bob.client.post("/api/v1/conversations", {"participants": str(alice.id)})
        assert again.status_code == 200
        assert again.json()["id"] == first["id"]
        assert Conversation.objects.count() == 1

    def test_live_conversation_is_always_new(self, alice: Member, bob: Member) -> None:
        create(alice, bob)
        live = alice.client.post(
            "/api/v1/conversations", {"participants": str(bob.id), "live": "true"}
        )
        assert live.status_code == 201
        assert Conversation.objects.count() == 2

    def test_group_conversation_is_always_new(
        self, alice: Member, bob: Member, carol: Member
    ) -> None:
        create(alice, bob, carol)
        assert (
            alice.client.post(
                "/api/v1/conversations", {"participants": f"{bob.id},{carol.id}"}
            ).status_code
            == 201
        )

    def test_left_conversation_is_not_reused(self, alice: Member, bob: Member) -> None:
        first = create(alice, bob)
        alice.client.delete(f"/api/v1/conversations/{first['id']}")
        second = alice.client.post("/api/v1/conversations", {"participants": str(bob.id)})
        assert second.status_code == 201
        assert second.json()["id"] != first["id"]

    @pytest.mark.parametrize(
        ("participants", "needle"),
        [
            ("", "participants"),
            ("abc", "participants"),
            ("-4", "participants"),
            ("999999", "no such user"),
            (",".join(str(i) for i in range(1, 60)), "at most 50"),
        ],
    )
    def test_bad_participants_are_400(
        self, alice: Member, bob: Member, participants: str, needle: str
    ) -> None:
        response = alice.client.post("/api/v1/conversations", {"participants": participants})
        assert response.status_code == 400
        assert needle in response.json()["error"]
        assert not Conversation.objects.exists()

    def test_cannot_include_yourself(self, alice: Member, bob: Member) -> None:
        response = alice.client.post(
            "/api/v1/conversations", {"participants": f"{bob.id},{alice.id}"}
        )
        assert response.status_code == 400
        assert not Conversation.objects.exists()

    def test_bad_live_value_is_400(self, alice: Member, bob: Member) -> None:
        response = alice.client.post(
            "/api/v1/conversations", {"participants": str(bob.id), "live": "maybe"}
        )
        assert response.status_code == 400

    def test_requires_credentials(self, anon: APIClient, bob: Member) -> None:
        assert anon.post("/api/v1/conversations", {"participants": str(bob.id)}).status_code == 401


class TestListAndGet:
    def test_list_is_most_recent_activity_first(
        self, alice: Member, bob: Member, carol: Member
    ) -> None:
        with_bob = create(alice, bob)
        with_carol = create(alice, carol)
        send(bob, with_bob["id"])
        ids = [c["id"] for c in alice.client.get("/api/v1/conversations").json()]
        assert ids == [with_bob["id"], with_carol["id"]]

    def test_list_pages_by_20_from_start(self, make_member, alice: Member) -> None:  # type: ignore[no-untyped-def]
        others = [make_member(f"user{i}") for i in range(22)]
        for other in others:
            create(alice, other)
        first = alice.client.get("/api/v1/conversations").json()
        second = alice.client.get("/api/v1/conversations", {"start": 20}).json()
        assert len(first) == 20 and len(second) == 2
        assert not {c["id"] for c in first} & {c["id"] for c in second}

    def test_list_shows_only_own_conversations(
        self, alice: Member, bob: Member, carol: Member
    ) -> None:
        create(alice, bob)
        assert carol.client.get("/api/v1/conversations").json() == []

    def test_get_carries_read_messages_and_unread(self, alice: Member, bob: Member) -> None:
        conversation = create(alice, bob)
        first = send(bob, conversation["id"], "one")
        send(bob, conversation["id"], "two")
        alice.client.put(
            f"/api/v1/conversations/{conversation['id']}/messages", {"seen": first["id"]}
        )
        body = alice.client.get(f"/api/v1/conversations/{conversation['id']}").json()
        assert body["read"] == [{"user": alice.id, "last_read": first["id"]}]
        assert [m["text"] for m in body["messages"]] == ["two", "one"]
        assert body["unread"] == 1
        assert bob.client.get(f"/api/v1/conversations/{conversation['id']}").json()["unread"] == 0

    def test_non_participant_gets_404(self, alice: Member, bob: Member, carol: Member) -> None:
        conversation = create(alice, bob)
        for method in ("get", "put", "delete"):
            response = getattr(carol.client, method)(f"/api/v1/conversations/{conversation['id']}")
            assert response.status_code == 404, method
        assert (
            carol.client.get(f"/api/v1/conversations/{conversation['id']}/messages").status_code
            == 404
        )
        assert (
            carol.client.post(
                f"/api/v1/conversations/{conversation['id']}/messages", {"text": "hi"}
            ).status_code
            == 404
        )
        assert not Message.objects.exists()

    def test_unknown_conversation_is_404(self, alice: Member) -> None:
        assert alice.client.get("/api/v1/conversations/424242").status_code == 404

    @pytest.mark.parametrize("path", ["", "/messages", "list"])
    def test_get_of_an_expired_live_conversation_reads_it_as_ended_and_writes_nothing(
        self, alice: Member, bob: Member, path: str
    ) -> None:
        conversation = create(alice, bob, live=True)
        send(alice, conversation["id"])
        Conversation.objects.filter(pk=conversation["id"]).update(
            expiry_time=timezone.now() - timedelta(seconds=1)
        )
        url = (
            "/api/v1/conversations"
            if path == "list"
            else f"/api/v1/conversations/{conversation['id']}{path}"
        )
        events = StreamEvent.objects.count()
        with (
            recording(signals.conversation_ended) as ended,
            CaptureQueriesContext(connection) as queries,
        ):
            response = alice.client.get(url)
        assert response.status_code == 200
        writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
        assert writes == []
        assert ended == []
        assert StreamEvent.objects.count() == events
        assert not Conversation.objects.get(pk=conversation["id"]).ended
        body = response.json()
        if path == "":
            assert body["expiry"]["ended"] is True
        elif path == "list":
            assert [c["expiry"]["ended"] for c in body] == [True]
        else:
            assert [m["text"] for m in body] == ["hello"]

    def test_expired_live_conversation_is_ended_by_the_next_change(
        self, alice: Member, bob: Member
    ) -> None:
        conversation = create(alice, bob, live=True)
        message = send(alice, conversation["id"])
        Conversation.objects.filter(pk=conversation["id"]).update(
            expiry_time=timezone.now() - timedelta(seconds=1)
        )
        with recording(signals.conversation_ended) as ended:
            response = bob.client.put(
                f"/api/v1/conversations/{conversation['id']}/messages", {"seen": message["id"]}
            )
        assert response.status_code == 200
        assert response.json()["expiry"]["ended"] is True
        assert [e.conversation.pk for e in ended] == [conversation["id"]]
        assert Conversation.objects.get(pk=conversation["id"]).ended


class TestMessages:
    def test_message_shape(self, alice: Member, bob: Member) -> None:
        conversation = create(alice, bob)
        body = send(alice, conversation["id"], "  hello there ")
        message = Message.objects.get()
        assert body == {
            "id": message.pk,
            "by": user_shape(alice),
            "text": "hello there",
            "timestamp": body["timestamp"],
            "seen": False,
        }
        assert parse_time(body["timestamp"]) == message.timestamp

    def test_sending_moves_last_activity(self, alice: Member, bob: Member) -> None:
        conversation = create(alice, bob)
        body = send(alice, conversation["id"])
        assert Conversation.objects.get().last_activity == parse_time(body["timestamp"])

    @pytest.mark.parametrize("text", ["", "   ", "x" * 5001])
    def test_bad_text_is_400(self, alice: Member, bob: Member, text: str) -> None:
        conversation = create(alice, bob)
        response = alice.client.post(
            f"/api/v1/conversations/{conversation['id']}/messages", {"text": text}
        )
        assert response.status_code == 400
        assert "text" in response.json()["error"]
        assert not Message.objects.exists()

    @pytest.mark.parametrize("others", [1, 9])
    def test_sending_takes_twelve_statements_whatever_the_participants(
        self, make_member: Callable[..., Member], alice: Member, others: int
    ) -> None:
        members = [make_member(f"member{n}") for n in range(others)]
        conversation = create(alice, *members)
        send(alice, conversation["id"])  # each user's stream exists from now on
        with CaptureQueriesContext(connection) as queries:
            send(alice, conversation["id"])
        # The token, the conversation, then in one transaction: its lock, the participants,
        # the message and last activity, and the event on every stream in two statements
        # inside the receiver's savepoint (bench/README.md, "POST a message").
        assert len(queries.captured_queries) <= 12, [q["sql"] for q in queries]

    def test_the_text_limit_is_the_setting_when_the_message_is_sent(
        self, alice: Member, bob: Member, settings: Any
    ) -> None:
        conversation = create(alice, bob)
        url = f"/api/v1/conversations/{conversation['id']}/messages"
        assert alice.client.post(url, {"text": "x" * 6}).status_code == 201
        settings.GLEEPOST = {"MAX_MESSAGE_CHARS": 5}
        response = alice.client.post(url, {"text": "x" * 6})
        assert response.json() == {"error": "text: must be at most 5 characters"}
        assert alice.client.post(url, {"text": "  xxxxx  "}).status_code == 201
        settings.GLEEPOST = {}
        assert alice.client.post(url, {"text": "x" * 6}).status_code == 201
        assert Message.objects.count() == 3

    def test_text_given_in_the_body_and_the_query_string_is_400(
        self, alice: Member, bob: Member
    ) -> None:
        conversation = create(alice, bob)
        response = alice.client.post(
            f"/api/v1/conversations/{conversation['id']}/messages?text=a", {"text": "b"}
        )
        assert response.status_code == 400
        assert response.json() == {"error": "text: given more than once"}
        assert not Message.objects.exists()

    def test_text_of_5000_characters_is_accepted(self, alice: Member, bob: Member) -> None:
        conversation = create(alice, bob)
        assert len(send(alice, conversation["id"], "x" * 5000)["text"]) == 5000

    def test_ended_conversation_refuses_messages_with_403(self, alice: Member, bob: Member) -> None:
        conversation = create(alice, bob, live=True)
        alice.client.delete(f"/api/v1/conversations/{conversation['id']}")
        response = bob.client.post(
            f"/api/v1/conversations/{conversation['id']}/messages", {"text": "late"}
        )
        assert response.status_code == 403
        assert not Message.objects.exists()

    def test_list_newest_first_with_bounds(self, alice: Member, bob: Member) -> None:
        conversation = create(alice, bob)
        ids = [send(alice, conversation["id"], str(i))["id"] for i in range(5)]
        url = f"/api/v1/conversations/{conversation['id']}/messages"
        assert [m["id"] for m in alice.client.get(url).json()] == ids[::-1]
        assert [m["id"] for m in alice.client.get(url, {"after": ids[2]}).json()] == [
            ids[4],
            ids[3],
        ]
        assert [m["id"] for m in alice.client.get(url, {"before": ids[2]}).json()] == [
            ids[1],
            ids[0],
        ]
        assert [m["id"] for m in alice.client.get(url, {"start": 1, "count": 2}).json()] == [
            ids[3],
            ids[2],
        ]

    @pytest.mark.parametrize(
        "params", [{"count": 0}, {"count": 101}, {"count": "x"}, {"start": -1}, {"after": "z"}]
    )
    def test_bad_paging_is_400(self, alice: Member, bob: Member, params: dict) -> None:
        conversation = create(alice, bob)
        url = f"/api/v1/conversations/{conversation['id']}/messages"
        assert alice.client.get(url, params).status_code == 400

    def test_seen_once_every_other_participant_has_read(
        self, alice: Member, bob: Member, carol: Member
    ) -> None:
        conversation = create(alice, bob, carol)
        message = send(alice, conversation["id"])
        url = f"/api/v1/conversations/{conversation['id']}/messages"
        bob.client.put(url, {"seen": message["id"]})
        assert alice.client.get(url).json()[0]["seen"] is False
        carol.client.put(url, {"seen": message["id"]})
        assert alice.client.get(url).json()[0]["seen"] is True


class TestRead:
    def test_marker_moves_forward_only(self, alice: Member, bob: Member) -> None:
        conversation = create(alice, bob)
        first = send(bob, conversation["id"])
        second = send(bob, conversation["id"])
        url = f"/api/v1/conversations/{conversation['id']}/messages"
        assert alice.client.put(url, {"seen": second["id"]}).status_code == 200
        response = alice.client.put(url, {"seen": first["id"]})
        assert response.status_code == 200
        assert response.json()["read"] == [{"user": alice.id, "last_read": second["id"]}]
        assert Participant.objects.get(user=alice.user).last_read == second["id"]

    def test_seen_must_be_a_message_of_the_conversation(
        self, alice: Member, bob: Member, carol: Member
    ) -> None:
        mine = create(alice, bob)
        other = create(carol, bob)
        foreign = send(carol, other["id"])
        url = f"/api/v1/conversations/{mine['id']}/messages"
        assert alice.client.put(url, {"seen": foreign["id"]}).status_code == 400
        assert alice.client.put(url, {}).status_code == 400
        assert Participant.objects.get(user=alice.user).last_read == 0


class TestChangeAndEnd:
    def test_put_expiry_false_makes_live_regular(self, alice: Member, bob: Member) -> None:
        conversation = create(alice, bob, live=True)
        response = bob.client.put(
            f"/api/v1/conversations/{conversation['id']}", {"expiry": "false"}
        )
        assert response.status_code == 200
        assert "expiry" not in response.json()
        assert Conversation.objects.get().expiry_time is None

    def test_put_on_regular_or_ended_is_400(self, alice: Member, bob: Member) -> None:
        regular = create(alice, bob)
        url = f"/api/v1/conversations/{regular['id']}"
        assert alice.client.put(url, {"expiry": "false"}).status_code == 400
        live = create(alice, bob, live=True)
        alice.client.delete(f"/api/v1/conversations/{live['id']}")
        response = alice.client.put(f"/api/v1/conversations/{live['id']}", {"expiry": "false"})
        assert response.status_code == 400
        assert Conversation.objects.get(pk=live["id"]).expiry_time is not None

    def test_put_other_value_is_400(self, alice: Member, bob: Member) -> None:
        live = create(alice, bob, live=True)
        url = f"/api/v1/conversations/{live['id']}"
        assert alice.client.put(url, {"expiry": "true"}).status_code == 400
        assert alice.client.put(url, {}).status_code == 400

    def test_delete_live_ends_it_for_everyone(self, alice: Member, bob: Member) -> None:
        conversation = create(alice, bob, live=True)
        assert alice.client.delete(f"/api/v1/conversations/{conversation['id']}").status_code == 204
        body = bob.client.get(f"/api/v1/conversations/{conversation['id']}").json()
        assert body["expiry"]["ended"] is True

    def test_delete_regular_leaves_it_for_the_caller_only(self, alice: Member, bob: Member) -> None:
        conversation = create(alice, bob)
        url = f"/api/v1/conversations/{conversation['id']}"
        assert alice.client.delete(url).status_code == 204
        assert alice.client.get(url).status_code == 404
        assert alice.client.get("/api/v1/conversations").json() == []
        assert bob.client.get(url).json()["participants"] == [user_shape(bob)]


class TestParticipants:
    def test_add_returns_participants(self, alice: Member, bob: Member, carol: Member) -> None:
        conversation = create(alice, bob, carol)
        dave_like = create(alice, bob)  # a second conversation to add carol to
        response = alice.client.post(
            f"/api/v1/conversations/{dave_like['id']}/participants", {"users": str(carol.id)}
        )
        assert response.status_code == 200
        assert response.json() == [user_shape(alice), user_shape(bob), user_shape(carol)]
        assert conversation["id"] != dave_like["id"]

    def test_non_participant_cannot_add(self, alice: Member, bob: Member, carol: Member) -> None:
        conversation = create(alice, bob)
        response = carol.client.post(
            f"/api/v1/conversations/{conversation['id']}/participants", {"users": str(carol.id)}
        )
        assert response.status_code == 404
        assert Participant.objects.count() == 2

    def test_unknown_user_is_400_and_adds_nobody(
        self, alice: Member, bob: Member, carol: Member
    ) -> None:
        conversation = create(alice, bob)
        response = alice.client.post(
            f"/api/v1/conversations/{conversation['id']}/participants",
            {"users": f"{carol.id},999999"},
        )
        assert response.status_code == 400
        assert Participant.objects.count() == 2

    def test_ended_conversation_refuses_new_participants(
        self, alice: Member, bob: Member, carol: Member
    ) -> None:
        conversation = create(alice, bob, live=True)
        alice.client.delete(f"/api/v1/conversations/{conversation['id']}")
        response = alice.client.post(
            f"/api/v1/conversations/{conversation['id']}/participants", {"users": str(carol.id)}
        )
        assert response.status_code == 403
