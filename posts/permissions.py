"""Who may see what (rest-api.md, Networks and posts).

A user can see a network when they are a member of it, and a post when they are a member of its
network and the post is not deleted. Whatever a user cannot see is reported as not found, never
as forbidden, so that nobody learns which ids exist.
"""

from __future__ import annotations

from collections.abc import Iterable

from gleepost.exceptions import NotFound
from posts.models import Membership, Network, Post


def is_member(user_id: int, network_id: int) -> bool:
    """Whether ``user_id`` belongs to ``network_id``."""
    return Membership.objects.filter(user_id=user_id, network_id=network_id).exists()


def members_of(network_id: int, user_ids: Iterable[int]) -> set[int]:
    """The subset of ``user_ids`` that belong to ``network_id``, in one query."""
    wanted = set(user_ids)
    if not wanted:
        return set()
    return set(
        Membership.objects.filter(network_id=network_id, user_id__in=wanted).values_list(
            "user_id", flat=True
        )
    )


def member_network_ids(user_id: int, network_ids: Iterable[int]) -> set[int]:
    """The subset of ``network_ids`` that ``user_id`` belongs to (and may subscribe to)."""
    wanted = set(network_ids)
    if not wanted:
        return set()
    return set(
        Membership.objects.filter(user_id=user_id, network_id__in=wanted).values_list(
            "network_id", flat=True
        )
    )


def can_see_post(user_id: int, post_id: int) -> bool:
    """Whether ``user_id`` may read ``post_id`` (and subscribe to it)."""
    return Post.objects.visible_to(user_id).filter(pk=post_id).exists()


def visible_post_ids(user_id: int, post_ids: Iterable[int]) -> set[int]:
    """The subset of ``post_ids`` that ``user_id`` may see, in one query."""
    return set(visible_post_networks(user_id, post_ids))


def visible_post_networks(user_id: int, post_ids: Iterable[int]) -> dict[int, int]:
    """Of ``post_ids``, those ``user_id`` may see, each with its network id, in one query."""
    wanted = set(post_ids)
    if not wanted:
        return {}
    rows = Post.objects.visible_to(user_id).filter(pk__in=wanted).values_list("pk", "network_id")
    return dict(rows)


def network_for_member(user_id: int, network_id: int) -> Network:
    """The network, if ``user_id`` is a member of it; NotFound otherwise."""
    network = Network.objects.filter(pk=network_id, memberships__user_id=user_id).first()
    if network is None:
        raise NotFound("Network not found")
    return network


def post_for_viewer(user_id: int, post_id: int) -> Post:
    """The post with its author, if ``user_id`` may see it; NotFound otherwise."""
    post = Post.objects.visible_to(user_id).select_related("by").filter(pk=post_id).first()
    if post is None:
        raise NotFound("Post not found")
    return post
