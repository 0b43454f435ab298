"""The posts actions: their rules, their writes and the domain signals they send."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from django.db import IntegrityError, transaction

from gleepost.exceptions import InvalidInput, NotAllowed, NotFound
from notifications.models import Notification
from posts import actions, signals
from posts.actions import (
    do_add_network_members,
    do_comment,
    do_create_network,
    do_create_post,
    do_delete_post,
    do_record_views,
    do_remove_network_member,
    do_set_like,
)
from posts.models import Comment, Like, Membership, Network, Post, PostView

if TYPE_CHECKING:
    from tests.conftest import Member

pytestmark = pytest.mark.django_db

MAY_1 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


# --- networks ---------------------------------------------------------------------------------


def test_create_network_makes_the_creator_the_first_member(alice: Member) -> None:
    network = do_create_network(alice.user, " Book club ")
    assert (network.name, network.creator_id) == ("Book club", alice.id)
    assert list(network.memberships.values_list("user_id", flat=True)) == [alice.id]


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "a\x00b"])
def test_create_network_refuses_a_bad_name(alice: Member, name: str) -> None:
    with pytest.raises(InvalidInput):
        do_create_network(alice.user, name)
    assert not Network.objects.exists()


def test_add_members_returns_only_those_who_were_not_members(
    campus: Network, alice: Member, bob: Member, carol: Member, dave: Member
) -> None:
    assert do_add_network_members(campus, alice.user, [bob.id, dave.id, dave.id]) == [dave.id]
    assert set(campus.memberships.values_list("user_id", flat=True)) == {
        alice.id,
        bob.id,
        carol.id,
        dave.id,
    }


def test_add_members_with_an_unknown_id_adds_nobody(
    campus: Network, alice: Member, dave: Member
) -> None:
    with pytest.raises(InvalidInput, match="no such user 777, 778"):
        do_add_network_members(campus, alice.user, [777, dave.id, 778])
    assert not Membership.objects.filter(user=dave.user).exists()


def test_an_inactive_user_cannot_be_added(campus: Network, alice: Member, dave: Member) -> None:
    dave.user.is_active = False
    dave.user.save()
    with pytest.raises(InvalidInput):
        do_add_network_members(campus, alice.user, [dave.id])


def test_a_non_member_cannot_add_members(campus: Network, dave: Member) -> None:
    with pytest.raises(NotFound):
        do_add_network_members(campus, dave.user, [dave.id])
    assert not Membership.objects.filter(user=dave.user).exists()


def test_anyone_may_leave_and_it_is_announced_once(
    campus: Network, carol: Member, record_signal: Any
) -> None:
    removed = record_signal(signals.network_member_removed)
    do_remove_network_member(campus, carol.user, carol.id)
    assert not Membership.objects.filter(user=carol.user).exists()
    assert removed == [signals.NetworkMemberRemoved(network=campus, user_id=carol.id)]


def test_the_creator_may_leave_their_own_network(campus: Network, alice: Member) -> None:
    do_remove_network_member(campus, alice.user, alice.id)
    assert not Membership.objects.filter(user=alice.user).exists()


def test_only_the_creator_may_remove_someone_else(
    campus: Network, bob: Member, carol: Member, record_signal: Any
) -> None:
    removed = record_signal(signals.network_member_removed)
    with pytest.raises(NotAllowed):
        do_remove_network_member(campus, bob.user, carol.id)
    assert Membership.objects.filter(user=carol.user).exists()
    assert removed == []


def test_removing_a_non_member_is_not_found(
    campus: Network, alice: Member, dave: Member, record_signal: Any
) -> None:
    removed = record_signal(signals.network_member_removed)
    with pytest.raises(NotFound):
        do_remove_network_member(campus, alice.user, dave.id)
    assert removed == []


def test_a_non_member_cannot_remove_anyone(campus: Network, dave: Member, bob: Member) -> None:
    with pytest.raises(NotFound):
        do_remove_network_member(campus, dave.user, bob.id)


# --- posts ------------------------------------------------------------------------------------


def test_create_post_strips_the_text_and_announces_it(
    campus: Network, bob: Member, record_signal: Any
) -> None:
    created = record_signal(signals.post_created)
    post = do_create_post(campus, bob.user, "  hello  ")
    assert (post.text, post.by_id, post.network_id, post.views_count) == (
        "hello",
        bob.id,
        campus.pk,
        0,
    )
    assert created == [signals.PostCreated(post=post)]


def test_a_non_member_cannot_post(campus: Network, dave: Member, record_signal: Any) -> None:
    created = record_signal(signals.post_created)
    with pytest.raises(NotFound):
        do_create_post(campus, dave.user, "hi")
    assert created == []


def test_post_text_is_limited_by_the_setting(campus: Network, alice: Member, settings: Any) -> None:
    settings.GLEEPOST = {"MAX_POST_CHARS": 3}
    do_create_post(campus, alice.user, "abc")
    with pytest.raises(InvalidInput, match="at most 3 characters"):
        do_create_post(campus, alice.user, "abcd")


def test_the_author_deletes_a_post_once(post: Post, alice: Member, record_signal: Any) -> None:
    deleted = record_signal(signals.post_deleted)
    do_delete_post(post, alice.user)
    assert post.deleted is True
    with pytest.raises(NotFound):
        do_delete_post(post, alice.user)
    assert [call.post.pk for call in deleted] == [post.pk]
    assert Post.objects.get(pk=post.pk).deleted is True


def test_a_member_who_is_not_the_author_cannot_delete(post: Post, bob: Member) -> None:
    with pytest.raises(NotAllowed):
        do_delete_post(post, bob.user)
    assert Post.objects.get(pk=post.pk).deleted is False


def test_an_author_who_left_the_network_cannot_delete_what_they_cannot_see(
    campus: Network, post: Post, alice: Member
) -> None:
    do_remove_network_member(campus, alice.user, alice.id)
    with pytest.raises(NotFound):
        do_delete_post(post, alice.user)


def test_staff_may_delete_any_post_as_moderators(
    post: Post, dave: Member, record_signal: Any
) -> None:
    deleted = record_signal(signals.post_deleted)
    dave.user.is_staff = True
    dave.user.save()
    do_delete_post(post, dave.user, as_moderator=True)
    assert Post.objects.get(pk=post.pk).deleted is True
    assert len(deleted) == 1


def test_only_staff_may_act_as_moderators(post: Post, bob: Member) -> None:
    with pytest.raises(NotAllowed):
        do_delete_post(post, bob.user, as_moderator=True)
    assert Post.objects.get(pk=post.pk).deleted is False


# --- views ------------------------------------------------------------------------------------


def test_record_views_counts_every_view_and_returns_the_new_totals(
    campus: Network, post: Post, alice: Member, bob: Member, record_signal: Any
) -> None:
    other = do_create_post(campus, alice.user, "other")
    changed = record_signal(signals.post_views_changed)
    counts = do_record_views(bob.user, [(post.pk, MAY_1), (other.pk, MAY_1), (post.pk, MAY_1)])
    assert counts == {post.pk: 2, other.pk: 1}
    assert changed == [signals.PostViewsChanged(counts={post.pk: 2, other.pk: 1})]
    assert PostView.objects.filter(user=bob.user, time=MAY_1).count() == 3
    assert do_record_views(bob.user, [(other.pk, MAY_1)]) == {other.pk: 2}


def test_record_views_drops_posts_the_user_cannot_see(
    campus: Network, post: Post, alice: Member, dave: Member, record_signal: Any
) -> None:
    own_network = do_create_network(dave.user, "Dave's")
    own_post = do_create_post(own_network, dave.user, "mine")
    changed = record_signal(signals.post_views_changed)
    counts = do_record_views(dave.user, [(post.pk, MAY_1), (own_post.pk, MAY_1), (12345, MAY_1)])
    assert counts == {own_post.pk: 1}
    assert changed == [signals.PostViewsChanged(counts={own_post.pk: 1})]
    assert Post.objects.get(pk=post.pk).views_count == 0
    assert not PostView.objects.filter(post=post).exists()


def test_record_views_of_nothing_visible_announces_nothing(
    post: Post, dave: Member, record_signal: Any
) -> None:
    changed = record_signal(signals.post_views_changed)
    assert do_record_views(dave.user, [(post.pk, MAY_1)]) == {}
    assert do_record_views(dave.user, []) == {}
    assert changed == []


def test_a_view_receiver_that_waits_for_the_commit_hears_nothing_of_a_rollback(
    post: Post, bob: Member, django_capture_on_commit_callbacks: Any
) -> None:
    heard: list[Mapping[int, int]] = []

    def receiver(sender: Any, changed: signals.PostViewsChanged, **kwargs: Any) -> None:
        transaction.on_commit(lambda: heard.append(changed.counts))

    signals.post_views_changed.connect(receiver)
    try:
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            do_record_views(bob.user, [(post.pk, MAY_1)])
            raise RuntimeError("the caller's transaction fails")
        assert heard == []
        assert Post.objects.get(pk=post.pk).views_count == 0
        assert not PostView.objects.exists()

        with django_capture_on_commit_callbacks(execute=True):
            do_record_views(bob.user, [(post.pk, MAY_1)])
        assert heard == [{post.pk: 1}]
    finally:
        signals.post_views_changed.disconnect(receiver)


# --- comments and likes -----------------------------------------------------------------------


def test_comment_notifies_the_author_and_announces_the_comment(
    post: Post, alice: Member, bob: Member, record_signal: Any
) -> None:
    added = record_signal(signals.comment_added)
    comment = do_comment(post, bob.user, " great ")
    assert (comment.text, comment.by_id, comment.post_id) == ("great", bob.id, post.pk)
    notification = Notification.objects.get()
    assert (notification.recipient_id, notification.type, notification.actor_id) == (
        alice.id,
        "commented",
        bob.id,
    )
    assert notification.post_id == post.pk
    assert added == [signals.CommentAdded(comment=comment)]


def test_comment_by_the_author_notifies_nobody(post: Post, alice: Member) -> None:
    do_comment(post, alice.user, "me again")
    assert not Notification.objects.exists()


def test_a_comment_whose_notification_fails_is_not_stored_nor_announced(
    post: Post, bob: Member, record_signal: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = record_signal(signals.comment_added)

    def failing_notify(*args: Any, **kwargs: Any) -> None:
        raise IntegrityError("simulated")

    monkeypatch.setattr(actions, "do_notify", failing_notify)
    with pytest.raises(IntegrityError):
        do_comment(post, bob.user, "lost")
    assert not Comment.objects.exists()
    assert added == []


def test_an_outsider_cannot_comment(post: Post, dave: Member) -> None:
    with pytest.raises(NotFound):
        do_comment(post, dave.user, "hi")


def test_comment_text_is_limited_by_the_setting(post: Post, bob: Member, settings: Any) -> None:
    settings.GLEEPOST = {"MAX_COMMENT_CHARS": 2}
    with pytest.raises(InvalidInput, match="text: must be at most 2 characters"):
        do_comment(post, bob.user, "abc")


def test_a_first_like_is_announced_once_however_often_it_is_repeated(
    post: Post, bob: Member, record_signal: Any
) -> None:
    liked = record_signal(signals.post_liked)
    for value in [True, True, False, True, False, True]:
        do_set_like(post, bob.user, value)
    assert Like.objects.get().liked is True
    assert liked == [signals.PostLiked(post=post, user=bob.user)]


def test_unlike_keeps_the_row_so_a_later_like_is_not_announced(
    post: Post, bob: Member, record_signal: Any
) -> None:
    do_set_like(post, bob.user, True)
    liked = record_signal(signals.post_liked)
    do_set_like(post, bob.user, False)
    assert Like.objects.get().liked is False
    do_set_like(post, bob.user, True)
    assert Like.objects.get().liked is True
    assert liked == []


def test_each_liker_is_announced(
    post: Post, bob: Member, carol: Member, record_signal: Any
) -> None:
    liked = record_signal(signals.post_liked)
    do_set_like(post, bob.user, True)
    do_set_like(post, carol.user, True)
    assert [(call.post.pk, call.user.pk) for call in liked] == [
        (post.pk, bob.id),
        (post.pk, carol.id),
    ]


def test_liking_ones_own_post_is_recorded_and_announced(
    post: Post, alice: Member, record_signal: Any
) -> None:
    # The fact is the same; who hears of it is for the receivers (notifications tells nobody).
    liked = record_signal(signals.post_liked)
    do_set_like(post, alice.user, True)
    assert Like.objects.get().liked is True
    assert liked == [signals.PostLiked(post=post, user=alice.user)]


def test_a_first_like_is_stored_when_it_is_announced(post: Post, bob: Member) -> None:
    seen: list[list[tuple[int, bool]]] = []

    def receiver(sender: Any, liked: signals.PostLiked, **kwargs: Any) -> None:
        seen.append(list(Like.objects.filter(post=liked.post).values_list("user_id", "liked")))

    signals.post_liked.connect(receiver)
    try:
        do_set_like(post, bob.user, True)
    finally:
        signals.post_liked.disconnect(receiver)
    assert seen == [[(bob.id, True)]]


def test_a_like_whose_receiver_fails_is_not_stored(post: Post, bob: Member) -> None:
    def failing(sender: Any, **kwargs: Any) -> None:
        raise IntegrityError("simulated")

    signals.post_liked.connect(failing)
    try:
        with pytest.raises(IntegrityError):
            do_set_like(post, bob.user, True)
    finally:
        signals.post_liked.disconnect(failing)
    assert not Like.objects.exists()


def test_an_outsider_cannot_like(post: Post, dave: Member, record_signal: Any) -> None:
    liked = record_signal(signals.post_liked)
    with pytest.raises(NotFound):
        do_set_like(post, dave.user, True)
    assert not Like.objects.exists()
    assert liked == []
