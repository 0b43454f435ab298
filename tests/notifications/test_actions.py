"""The notifications actions: their rules, their writes and the signal they send."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from django.db import transaction

from gleepost.exceptions import InvalidInput, NotFound
from notifications.actions import (
    do_accept_contact,
    do_mark_notifications_seen,
    do_notify,
    do_request_contact,
)
from notifications.models import Contact, Notification
from notifications.signals import NotificationCreated, notification_created
from posts.actions import do_comment, do_set_like
from posts.models import Post

if TYPE_CHECKING:
    from tests.conftest import Member

pytestmark = pytest.mark.django_db

ADDED_YOU = Notification.Type.ADDED_YOU


def test_notify_creates_the_notification_and_announces_it_once(
    alice: Member, bob: Member, record_signal: Any
) -> None:
    created = record_signal(notification_created)
    notification = do_notify(bob.user, ADDED_YOU, alice.user)
    assert notification is not None
    assert (notification.recipient_id, notification.type, notification.actor_id) == (
        bob.id,
        "added_you",
        alice.id,
    )
    assert (notification.post_id, notification.seen) == (None, False)
    assert created == [NotificationCreated(notification=notification)]


def test_nobody_is_notified_of_their_own_doing(alice: Member, record_signal: Any) -> None:
    created = record_signal(notification_created)
    assert do_notify(alice.user, ADDED_YOU, alice.user) is None
    assert not Notification.objects.exists()
    assert created == []


def test_a_notification_receiver_that_waits_for_the_commit_hears_nothing_of_a_rollback(
    alice: Member, bob: Member, django_capture_on_commit_callbacks: Any
) -> None:
    heard: list[int] = []

    def receiver(sender: Any, created: NotificationCreated, **kwargs: Any) -> None:
        transaction.on_commit(lambda: heard.append(created.notification.recipient_id))

    notification_created.connect(receiver)
    try:
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            do_notify(bob.user, ADDED_YOU, alice.user)
            raise RuntimeError("the caller's transaction fails")
        assert heard == []
        assert not Notification.objects.exists()

        with django_capture_on_commit_callbacks(execute=True):
            do_notify(bob.user, ADDED_YOU, alice.user)
        assert heard == [bob.id]
    finally:
        notification_created.disconnect(receiver)


def test_comment_and_like_each_announce_one_notification_about_the_post(
    post: Post, alice: Member, bob: Member, record_signal: Any
) -> None:
    created = record_signal(notification_created)
    do_comment(post, bob.user, "nice")
    do_set_like(post, bob.user, True)
    do_set_like(post, bob.user, False)
    do_set_like(post, bob.user, True)
    assert [
        (call.notification.type, call.notification.recipient_id, call.notification.post_id)
        for call in created
    ] == [("commented", alice.id, post.pk), ("liked", alice.id, post.pk)]


def test_mark_seen_marks_up_to_the_id_and_returns_the_unseen_rest_newest_first(
    alice: Member, bob: Member, carol: Member
) -> None:
    first, second, third = (
        do_notify(alice.user, ADDED_YOU, actor) for actor in (bob.user, carol.user, bob.user)
    )
    assert first and second and third
    others = do_notify(bob.user, ADDED_YOU, carol.user)
    assert others is not None
    unseen = do_mark_notifications_seen(alice.user, second.pk)
    assert [n.pk for n in unseen] == [third.pk]
    assert set(Notification.objects.filter(seen=True).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    assert do_mark_notifications_seen(alice.user, others.pk) == []


def test_request_contact_creates_it_and_notifies_the_target(
    alice: Member, bob: Member, record_signal: Any
) -> None:
    created = record_signal(notification_created)
    contact = do_request_contact(alice.user, bob.id)
    assert (contact.from_user_id, contact.to_user_id, contact.accepted) == (
        alice.id,
        bob.id,
        False,
    )
    assert [(call.notification.type, call.notification.recipient_id) for call in created] == [
        ("added_you", bob.id)
    ]


def test_request_contact_refuses_oneself(alice: Member) -> None:
    with pytest.raises(InvalidInput):
        do_request_contact(alice.user, alice.id)
    assert not Contact.objects.exists()


def test_request_contact_to_an_unknown_or_inactive_user_is_not_found(
    alice: Member, dave: Member
) -> None:
    dave.user.is_active = False
    dave.user.save()
    for target in (dave.id, 987654):
        with pytest.raises(NotFound):
            do_request_contact(alice.user, target)
    assert not Contact.objects.exists()
    assert not Notification.objects.exists()


def test_a_second_request_in_either_direction_is_refused(alice: Member, bob: Member) -> None:
    do_request_contact(alice.user, bob.id)
    with pytest.raises(InvalidInput):
        do_request_contact(alice.user, bob.id)
    with pytest.raises(InvalidInput):
        do_request_contact(bob.user, alice.id)
    assert Contact.objects.count() == 1
    assert Notification.objects.count() == 1


def test_accepting_marks_the_contact_and_notifies_the_requester(
    alice: Member, bob: Member, record_signal: Any
) -> None:
    do_request_contact(alice.user, bob.id)
    created = record_signal(notification_created)
    contact = do_accept_contact(bob.user, alice.id)
    assert contact.accepted is True
    assert contact.accepted_at is not None
    assert Contact.objects.get().accepted is True
    assert [
        (call.notification.type, call.notification.recipient_id, call.notification.actor_id)
        for call in created
    ] == [("accepted_you", alice.id, bob.id)]


def test_accepting_twice_is_refused_and_notifies_once(alice: Member, bob: Member) -> None:
    do_request_contact(alice.user, bob.id)
    do_accept_contact(bob.user, alice.id)
    with pytest.raises(InvalidInput):
        do_accept_contact(bob.user, alice.id)
    assert Notification.objects.filter(type="accepted_you").count() == 1


def test_only_the_target_of_a_request_may_accept_it(
    alice: Member, bob: Member, carol: Member
) -> None:
    do_request_contact(alice.user, bob.id)
    with pytest.raises(NotFound):
        do_accept_contact(alice.user, bob.id)
    with pytest.raises(NotFound):
        do_accept_contact(carol.user, alice.id)
    assert Contact.objects.get().accepted is False
