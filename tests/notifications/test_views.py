"""The notifications and contacts endpoints (rest-api.md, Notifications)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from rest_framework.test import APIClient

from gleepost.times import format_time
from notifications.actions import do_notify, do_request_contact
from notifications.models import Contact, Notification
from posts.actions import do_comment, do_set_like
from posts.models import Post

if TYPE_CHECKING:
    from tests.conftest import Member

API = "/api/v1"
ADDED_YOU = Notification.Type.ADDED_YOU

pytestmark = pytest.mark.django_db


def user_shape(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "username": member.user.username,
        "profile_image": member.user.profile_image,
    }


def notify(recipient: Member, actor: Member) -> Notification:
    notification = do_notify(recipient.user, ADDED_YOU, actor.user)
    assert notification is not None
    return notification


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()]


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/notifications"),
        ("put", "/notifications"),
        ("post", "/contacts"),
        ("put", "/contacts/1"),
    ],
)
def test_every_endpoint_refuses_a_caller_without_credentials(
    anon: APIClient, method: str, path: str
) -> None:
    response = getattr(anon, method)(API + path)
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid credentials"}


# --- GET notifications ------------------------------------------------------------------------


def test_notifications_are_the_callers_unseen_ones_newest_first_in_their_shape(
    post: Post, alice: Member, bob: Member, carol: Member
) -> None:
    do_comment(post, bob.user, "nice")
    do_set_like(post, carol.user, True)
    added = notify(alice, carol)
    notify(bob, carol)  # someone else's
    liked, commented = Notification.objects.filter(post=post).order_by("-pk")
    response = alice.client.get(f"{API}/notifications")
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": added.pk,
            "type": "added_you",
            "time": format_time(added.time),
            "user": user_shape(carol),
            "seen": False,
        },
        {
            "id": liked.pk,
            "type": "liked",
            "time": format_time(liked.time),
            "user": user_shape(carol),
            "seen": False,
            "post": post.pk,
        },
        {
            "id": commented.pk,
            "type": "commented",
            "time": format_time(commented.time),
            "user": user_shape(bob),
            "seen": False,
            "post": post.pk,
        },
    ]


def test_seen_notifications_are_left_out_unless_asked_for(alice: Member, bob: Member) -> None:
    old = notify(alice, bob)
    new = notify(alice, bob)
    Notification.objects.filter(pk=old.pk).update(seen=True)
    assert ids(alice.client.get(f"{API}/notifications")) == [new.pk]
    assert ids(alice.client.get(f"{API}/notifications?include_seen=false")) == [new.pk]
    response = alice.client.get(f"{API}/notifications/?include_seen=true")
    assert ids(response) == [new.pk, old.pk]
    assert [item["seen"] for item in response.json()] == [False, True]


def test_notifications_page_with_before_and_after(
    alice: Member, bob: Member, settings: Any
) -> None:
    settings.GLEEPOST = {"PAGE_SIZE": 2}
    made = [notify(alice, bob).pk for _ in range(5)]
    url = f"{API}/notifications"
    assert ids(alice.client.get(url)) == [made[4], made[3]]
    assert ids(alice.client.get(url, {"before": made[3]})) == [made[2], made[1]]
    assert ids(alice.client.get(url, {"before": made[1]})) == [made[0]]
    assert ids(alice.client.get(url, {"after": made[3]})) == [made[4]]
    assert ids(alice.client.get(url, {"after": made[0]})) == [made[4], made[3]]
    assert ids(alice.client.get(url, {"after": made[0], "before": made[3]})) == [made[2], made[1]]


def test_the_default_page_is_twenty_notifications(alice: Member, bob: Member) -> None:
    Notification.objects.bulk_create(
        Notification(recipient=alice.user, actor=bob.user, type=ADDED_YOU) for _ in range(25)
    )
    assert len(ids(alice.client.get(f"{API}/notifications"))) == 20


def test_a_user_without_notifications_gets_an_empty_list(dave: Member) -> None:
    assert ids(dave.client.get(f"{API}/notifications")) == []


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("include_seen=yes", "include_seen: must be true or false"),
        ("before=x", "before: must be a positive integer"),
        ("after=-3", "after: must be a positive integer"),
    ],
)
def test_notifications_with_bad_parameters_are_refused(
    alice: Member, query: str, error: str
) -> None:
    response = alice.client.get(f"{API}/notifications?{query}")
    assert response.status_code == 400
    assert response.json() == {"error": error}


# --- PUT notifications ------------------------------------------------------------------------


def test_marking_seen_marks_everything_up_to_the_id_and_returns_the_unseen_rest(
    alice: Member, bob: Member, carol: Member
) -> None:
    first, second, third = notify(alice, bob), notify(alice, carol), notify(alice, bob)
    bobs = notify(bob, carol)
    response = alice.client.put(f"{API}/notifications", {"seen": second.pk})
    assert response.status_code == 200
    third.refresh_from_db()
    assert response.json() == [
        {
            "id": third.pk,
            "type": "added_you",
            "time": format_time(third.time),
            "user": user_shape(bob),
            "seen": False,
        }
    ]
    assert set(Notification.objects.filter(seen=True).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    bobs.refresh_from_db()
    assert bobs.seen is False


def test_marking_seen_past_everything_returns_an_empty_list(alice: Member, bob: Member) -> None:
    latest = notify(alice, bob)
    response = alice.client.put(f"{API}/notifications", {"seen": latest.pk}, format="json")
    assert response.status_code == 200
    assert response.json() == []
    assert ids(alice.client.get(f"{API}/notifications")) == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "seen: required"),
        ({"seen": "abc"}, "seen: must be a positive integer"),
        ({"seen": 0}, "seen: must be a positive integer"),
        ({"seen": True}, "seen: must be a positive integer"),
    ],
)
def test_marking_seen_with_a_bad_id_is_refused(
    alice: Member, bob: Member, data: dict[str, Any], error: str
) -> None:
    notify(alice, bob)
    response = alice.client.put(f"{API}/notifications", data, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert not Notification.objects.filter(seen=True).exists()


# --- POST contacts ----------------------------------------------------------------------------


def test_requesting_a_contact_answers_with_the_user_and_notifies_them(
    alice: Member, bob: Member
) -> None:
    response = alice.client.post(f"{API}/contacts", {"user": bob.id})
    assert response.status_code == 201
    assert response.json() == {"user": user_shape(bob), "accepted": False}
    contact = Contact.objects.get()
    assert (contact.from_user_id, contact.to_user_id, contact.accepted) == (alice.id, bob.id, False)
    notification = Notification.objects.get()
    assert (notification.recipient_id, notification.type, notification.actor_id) == (
        bob.id,
        "added_you",
        alice.id,
    )
    bobs_view = bob.client.get(f"{API}/notifications").json()
    assert bobs_view == [
        {
            "id": notification.pk,
            "type": "added_you",
            "time": format_time(notification.time),
            "user": user_shape(alice),
            "seen": False,
        }
    ]


def test_requesting_oneself_as_a_contact_is_refused(alice: Member) -> None:
    response = alice.client.post(f"{API}/contacts", {"user": alice.id})
    assert response.status_code == 400
    assert response.json() == {"error": "user: you cannot add yourself"}
    assert not Notification.objects.exists()


def test_requesting_an_unknown_user_is_not_found(alice: Member) -> None:
    response = alice.client.post(f"{API}/contacts", {"user": 987654})
    assert response.status_code == 404
    assert response.json() == {"error": "User not found"}


@pytest.mark.parametrize("requester", ["alice", "bob"])
def test_a_request_that_already_exists_in_either_direction_is_refused(
    alice: Member, bob: Member, requester: str
) -> None:
    do_request_contact(alice.user, bob.id)
    caller, target = (alice, bob) if requester == "alice" else (bob, alice)
    response = caller.client.post(f"{API}/contacts", {"user": target.id})
    assert response.status_code == 400
    assert response.json() == {"error": "user: a contact request between you already exists"}
    assert Contact.objects.count() == 1
    assert Notification.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "error"),
    [({}, "user: required"), ({"user": "bob"}, "user: must be a positive integer")],
)
def test_requesting_a_contact_without_a_valid_user_id_is_refused(
    alice: Member, data: dict[str, Any], error: str
) -> None:
    response = alice.client.post(f"{API}/contacts", data)
    assert response.status_code == 400
    assert response.json() == {"error": error}


# --- PUT contacts/{user id} -------------------------------------------------------------------


def test_accepting_a_request_answers_with_the_requester_and_notifies_them(
    alice: Member, bob: Member
) -> None:
    do_request_contact(alice.user, bob.id)
    response = bob.client.put(f"{API}/contacts/{alice.id}", {"accepted": "true"})
    assert response.status_code == 200
    assert response.json() == {"user": user_shape(alice), "accepted": True}
    assert Contact.objects.get().accepted is True
    accepted = Notification.objects.get(type="accepted_you")
    assert (accepted.recipient_id, accepted.actor_id, accepted.post_id) == (alice.id, bob.id, None)


def test_accepting_twice_is_refused(alice: Member, bob: Member) -> None:
    do_request_contact(alice.user, bob.id)
    bob.client.put(f"{API}/contacts/{alice.id}", {"accepted": "true"})
    response = bob.client.put(f"{API}/contacts/{alice.id}/", {"accepted": True}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "accepted: the request is already accepted"}
    assert Notification.objects.filter(type="accepted_you").count() == 1


@pytest.mark.parametrize(
    "data",
    [{}, {"accepted": "false"}, {"accepted": "maybe"}, {"accepted": ""}],
)
def test_accepting_without_accepted_true_is_refused(
    alice: Member, bob: Member, data: dict[str, Any]
) -> None:
    do_request_contact(alice.user, bob.id)
    response = bob.client.put(f"{API}/contacts/{alice.id}", data)
    assert response.status_code == 400
    assert response.json()["error"].startswith("accepted: ")
    assert Contact.objects.get().accepted is False


def test_accepting_a_request_that_does_not_exist_is_not_found(
    alice: Member, bob: Member, carol: Member
) -> None:
    do_request_contact(alice.user, bob.id)
    # The requester cannot accept their own request, and nobody else can either.
    for caller, requester in ((alice, bob), (carol, alice), (bob, carol)):
        response = caller.client.put(f"{API}/contacts/{requester.id}", {"accepted": "true"})
        assert response.status_code == 404
        assert response.json() == {"error": "No contact request from that user"}
    assert Contact.objects.get().accepted is False


def test_listing_notifications_costs_the_same_few_queries_however_many_actors(
    alice: Member, bob: Member, carol: Member, dave: Member, django_assert_max_num_queries: Any
) -> None:
    for actor in (bob, carol, dave) * 3:
        notify(alice, actor)
    with django_assert_max_num_queries(3):
        response = alice.client.get(f"{API}/notifications")
    assert len(response.json()) == 9
    with django_assert_max_num_queries(5):  # auth, savepoint, update, select, release
        response = alice.client.put(f"{API}/notifications", {"seen": 1})
    assert response.status_code == 200
