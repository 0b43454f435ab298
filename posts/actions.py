"""Network, post, view, comment and like state changes (rest-api.md, Networks and posts).

Every action validates, writes and announces its domain fact (``posts.signals``) in one
transaction; the module docstring there lists the changes no client hears of, which announce
nothing. Anything the actor may not see is reported as NotFound, exactly as the REST API
reports it, so that views stay thin and callers outside HTTP get the same rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import F

from accounts.models import User
from gleepost.conf import gp_settings
from gleepost.exceptions import InvalidInput, NotAllowed, NotFound
from notifications.actions import do_notify
from notifications.models import Notification
from posts.models import Comment, Like, Membership, Network, Post, PostView
from posts.permissions import can_see_post, is_member, visible_post_ids
from posts.signals import (
    CommentAdded,
    NetworkMemberRemoved,
    PostCreated,
    PostDeleted,
    PostLiked,
    PostViewsChanged,
    comment_added,
    network_member_removed,
    post_created,
    post_deleted,
    post_liked,
    post_views_changed,
)

MAX_NETWORK_NAME_CHARS = Network._meta.get_field("name").max_length or 200


def do_create_network(creator: User, name: str) -> Network:
    """Create a network; its creator is its first member."""
    name = _clean_text(name, "name", MAX_NETWORK_NAME_CHARS)
    with transaction.atomic():
        network = Network.objects.create(name=name, creator=creator)
        Membership.objects.create(network=network, user=creator)
    return network


def do_add_network_members(network: Network, actor: User, user_ids: Sequence[int]) -> list[int]:
    """Add users to a network the actor belongs to; returns the ids that were not members yet."""
    wanted = list(dict.fromkeys(user_ids))
    with transaction.atomic():
        _lock_network(network)
        _require_member(network, actor)
        known = set(User.objects.filter(pk__in=wanted, is_active=True).values_list("pk", flat=True))
        unknown = [user_id for user_id in wanted if user_id not in known]
        if unknown:
            raise InvalidInput("users: no such user " + ", ".join(map(str, unknown)))
        current = set(
            Membership.objects.filter(network=network, user_id__in=wanted).values_list(
                "user_id", flat=True
            )
        )
        added = [user_id for user_id in wanted if user_id not in current]
        Membership.objects.bulk_create(
            [Membership(network=network, user_id=user_id) for user_id in added]
        )
    return added


def do_remove_network_member(network: Network, actor: User, user_id: int) -> None:
    """Remove a member: anyone may leave, and the network's creator may remove anyone."""
    with transaction.atomic():
        _lock_network(network)
        _require_member(network, actor)
        if user_id != actor.pk and actor.pk != network.creator_id:
            raise NotAllowed("Only the network's creator may remove other members")
        removed, _ = Membership.objects.filter(network=network, user_id=user_id).delete()
        if not removed:
            raise NotFound("User is not a member of this network")
        network_member_removed.send(
            sender=Network, removed=NetworkMemberRemoved(network=network, user_id=user_id)
        )


def do_create_post(network: Network, author: User, text: str) -> Post:
    """Post ``text`` in a network the author belongs to."""
    text = _clean_text(text, "text", gp_settings.MAX_POST_CHARS)
    with transaction.atomic():
        _require_member(network, author)
        post = Post.objects.create(network=network, by=author, text=text)
        post_created.send(sender=Post, created=PostCreated(post=post))
    return post


def do_delete_post(post: Post, actor: User, *, as_moderator: bool = False) -> None:
    """Mark a post deleted. Only its author may, or a staff member acting as moderator."""
    with transaction.atomic():
        # The lock makes two concurrent deletions announce the fact once.
        locked = Post.objects.select_for_update().filter(pk=post.pk, deleted=False).first()
        if as_moderator:
            if not actor.is_staff:
                raise NotAllowed("Only staff may delete other people's posts")
        elif locked is None or not can_see_post(actor.pk, locked.pk):
            raise NotFound("Post not found")
        elif locked.by_id != actor.pk:
            raise NotAllowed("Only the author may delete a post")
        if locked is None:
            return
        locked.deleted = post.deleted = True
        locked.save(update_fields=["deleted"])
        post_deleted.send(sender=Post, deleted=PostDeleted(post=locked))


def do_record_views(user: User, views: Sequence[tuple[int, datetime]]) -> dict[int, int]:
    """Record ``(post id, time)`` views; returns the new totals of the posts that were counted.

    Every view counts (a post's views are views recorded, not distinct viewers). Views of posts
    the user cannot see are dropped without an error: a client's list may be stale.
    """
    if not views:
        return {}
    with transaction.atomic():
        visible = visible_post_ids(user.pk, (post_id for post_id, _ in views))
        kept = [(post_id, time) for post_id, time in views if post_id in visible]
        if not kept:
            return {}
        PostView.objects.bulk_create(
            [PostView(post_id=post_id, user=user, time=time) for post_id, time in kept]
        )
        per_post = Counter(post_id for post_id, _ in kept)
        # Increments in the database, not read-modify-write, so concurrent requests add up;
        # in id order, so two requests lock the same rows in the same order and never deadlock.
        for post_id in sorted(per_post):
            Post.objects.filter(pk=post_id).update(views_count=F("views_count") + per_post[post_id])
        # The rows stay locked until commit, so these totals include exactly our increments.
        counts = dict(Post.objects.filter(pk__in=per_post).values_list("pk", "views_count"))
        post_views_changed.send(sender=Post, changed=PostViewsChanged(counts=counts))
    return counts


def do_comment(post: Post, user: User, text: str) -> Comment:
    """Comment on a post; its author is notified (unless commenting on their own post)."""
    text = _clean_text(text, "text", gp_settings.MAX_COMMENT_CHARS)
    with transaction.atomic():
        _require_visible(post, user)
        comment = Comment.objects.create(post=post, by=user, text=text)
        do_notify(post.by, Notification.Type.COMMENTED, user, post=post)
        comment_added.send(sender=Comment, added=CommentAdded(comment=comment))
    return comment


def do_set_like(post: Post, user: User, liked: bool) -> None:
    """Like or unlike a post; a user's first like of it is announced (``post_liked``), once.

    Its receiver in ``notifications`` tells the author, inside this transaction, so the like and
    its notification are stored together or not at all. An unlike, or a like again, changes
    nothing a client sees and announces nothing."""
    with transaction.atomic():
        _require_visible(post, user)
        if not liked:
            Like.objects.filter(post=post, user=user).update(liked=False)
            return
        # The row is kept on unlike, so it exists exactly when the user has ever liked the post;
        # get_or_create settles two concurrent first likes through the unique constraint.
        like, created = Like.objects.get_or_create(post=post, user=user)
        if created:
            post_liked.send(sender=Like, liked=PostLiked(post=post, user=user))
        elif not like.liked:
            like.liked = True
            like.save(update_fields=["liked"])


def _clean_text(text: str, field: str, max_chars: int) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput(f"{field}: required")
    if "\x00" in text:
        raise InvalidInput(f"{field}: must not contain NUL characters")
    if len(text) > max_chars:
        raise InvalidInput(f"{field}: must be at most {max_chars} characters")
    return text


def _lock_network(network: Network) -> None:
    # Serialises membership changes of one network: two requests adding one user do not both
    # insert it (the second would fail on the unique constraint), and a removal is announced once.
    Network.objects.select_for_update().filter(pk=network.pk).exists()


def _require_member(network: Network, user: User) -> None:
    if not is_member(user.pk, network.pk):
        raise NotFound("Network not found")


def _require_visible(post: Post, user: User) -> None:
    if not can_see_post(user.pk, post.pk):
        raise NotFound("Post not found")
