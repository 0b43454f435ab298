"""Who may see networks and posts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gleepost.exceptions import NotFound
from posts.actions import do_create_network, do_create_post, do_delete_post
from posts.models import Network, Post
from posts.permissions import (
    can_see_post,
    is_member,
    network_for_member,
    post_for_viewer,
    visible_post_ids,
)

if TYPE_CHECKING:
    from tests.conftest import Member

pytestmark = pytest.mark.django_db


def test_members_belong_and_outsiders_do_not(campus: Network, bob: Member, dave: Member) -> None:
    assert is_member(bob.id, campus.pk) is True
    assert is_member(dave.id, campus.pk) is False
    assert is_member(bob.id, campus.pk + 1000) is False


def test_members_see_a_post_and_outsiders_do_not(post: Post, bob: Member, dave: Member) -> None:
    assert can_see_post(bob.id, post.pk) is True
    assert can_see_post(dave.id, post.pk) is False
    assert can_see_post(bob.id, post.pk + 1000) is False


def test_nobody_sees_a_deleted_post(post: Post, alice: Member, bob: Member) -> None:
    do_delete_post(post, alice.user)
    assert can_see_post(alice.id, post.pk) is False
    assert can_see_post(bob.id, post.pk) is False


def test_visible_post_ids_keeps_only_what_the_user_may_see_in_one_query(
    campus: Network, post: Post, alice: Member, dave: Member, django_assert_num_queries: Any
) -> None:
    gone = do_create_post(campus, alice.user, "gone")
    do_delete_post(gone, alice.user)
    elsewhere = do_create_post(do_create_network(dave.user, "Dave's"), dave.user, "hi")
    with django_assert_num_queries(1):
        seen = visible_post_ids(alice.id, [post.pk, gone.pk, elsewhere.pk, 99999])
    assert seen == {post.pk}
    with django_assert_num_queries(1):
        assert visible_post_ids(dave.id, iter([post.pk, elsewhere.pk])) == {elsewhere.pk}


def test_visible_post_ids_of_nothing_asks_nothing(
    alice: Member, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        assert visible_post_ids(alice.id, []) == set()


def test_network_for_member_hides_networks_from_outsiders(
    campus: Network, bob: Member, dave: Member
) -> None:
    assert network_for_member(bob.id, campus.pk) == campus
    with pytest.raises(NotFound, match="Network not found"):
        network_for_member(dave.id, campus.pk)


def test_post_for_viewer_hides_posts_from_outsiders(post: Post, bob: Member, dave: Member) -> None:
    assert post_for_viewer(bob.id, post.pk) == post
    with pytest.raises(NotFound, match="Post not found"):
        post_for_viewer(dave.id, post.pk)
