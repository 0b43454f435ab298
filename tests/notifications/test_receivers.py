"""The notifications other apps' facts cause (notifications.receivers): a post's author hears of
each liker once, nobody of their own like, and a like is stored with its notification or not at
all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from django.db import IntegrityError, transaction

from notifications import receivers
from notifications.models import Notification
from notifications.signals import NotificationCreated, notification_created
from posts.actions import do_set_like
from posts.models import Like, Post
from posts.signals import post_liked
from tests.signal_recorder import receivers_of

if TYPE_CHECKING:
    from tests.conftest import Member

pytestmark = pytest.mark.django_db


def test_a_first_like_notifies_the_author_once_per_liker(
    post: Post, alice: Member, bob: Member, carol: Member, record_signal: Any
) -> None:
    created = record_signal(notification_created)
    for liked in [True, True, False, True]:
        do_set_like(post, bob.user, liked)
    do_set_like(post, carol.user, True)
    notifications = list(Notification.objects.order_by("pk"))
    assert [(n.type, n.recipient_id, n.actor_id, n.post_id) for n in notifications] == [
        ("liked", alice.id, bob.id, post.pk),
        ("liked", alice.id, carol.id, post.pk),
    ]
    assert created == [NotificationCreated(notification=n) for n in notifications]


def test_nobody_is_notified_of_liking_their_own_post(
    post: Post, alice: Member, record_signal: Any
) -> None:
    created = record_signal(notification_created)
    do_set_like(post, alice.user, True)
    assert Like.objects.get().user_id == alice.id
    assert not Notification.objects.exists()
    assert created == []


def test_a_like_rolled_back_takes_its_notification_with_it(post: Post, bob: Member) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        do_set_like(post, bob.user, True)
        assert Notification.objects.filter(type="liked").count() == 1
        raise RuntimeError("the caller's transaction fails")
    assert not Like.objects.exists()
    assert not Notification.objects.exists()
    # Nothing was stored, so the like that commits is the first and its author hears of it.
    do_set_like(post, bob.user, True)
    assert Notification.objects.filter(type="liked").count() == 1


def test_a_like_whose_notification_fails_is_not_stored(
    post: Post, bob: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_notify(*args: Any, **kwargs: Any) -> None:
        raise IntegrityError("simulated")

    monkeypatch.setattr(receivers, "do_notify", failing_notify)
    with pytest.raises(IntegrityError):
        do_set_like(post, bob.user, True)
    assert not Like.objects.exists()
    assert not Notification.objects.exists()


def test_connecting_the_receivers_again_connects_nothing_twice(post: Post, bob: Member) -> None:
    receivers.connect_receivers()
    assert [r for r in receivers_of(post_liked) if r is receivers.on_post_liked] == [
        receivers.on_post_liked
    ]
    do_set_like(post, bob.user, True)
    assert Notification.objects.count() == 1
