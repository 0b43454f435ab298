"""Domain signals of the posts app: facts about networks, posts, views, comments and likes.

Receivers live in other apps (``realtime``, ``notifications``); this app never imports them.
Each signal carries one frozen dataclass, defined beside it and named for the fact
(``post_created.send(sender=Post, created=PostCreated(post=post))``). Every signal is sent by
``posts.actions`` inside the action's transaction, as its last step, so a failed action sends
nothing. The transaction may still roll back after the send (an outer ``atomic`` block can
fail), so a receiver that talks to the outside world (the channel layer, a mail server) must
defer that work with ``transaction.on_commit``. A receiver that writes to the database writes
in that transaction (``notifications`` stores the ``liked`` notification of ``post_liked``):
its rows are kept or lost with the change, and an error it raises fails the action. The sender
is always the model class.

Changes that send no signal of their own, because no client hears of them (the protocol has no
event for them: websockets.md, docs/websocket-protocol.md) and nothing else receives them:
- a network created, or users added to one: the new member may read and SUBSCRIBE to it from
  then on, which is checked when they ask;
- an unlike, or a like again after one: no shape carries likes, so all a client ever sees of a
  user's likes of a post is the ``liked`` notification of the first (``post_liked``, which the
  ``notifications`` app receives). The ``Like`` row is kept on unlike so that the first like
  stays a fact this app knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.dispatch import Signal

from accounts.models import User
from posts.models import Comment, Network, Post


@dataclass(frozen=True)
class NetworkMemberRemoved:
    """``user_id`` left or was removed from ``network`` and can no longer see its posts."""

    network: Network
    user_id: int


@dataclass(frozen=True)
class PostCreated:
    """A post was published in its network."""

    post: Post


@dataclass(frozen=True)
class PostDeleted:
    """The post is marked deleted: nobody may see it or hear about it from now on. Sent once."""

    post: Post


@dataclass(frozen=True)
class PostViewsChanged:
    """Views were recorded: ``counts`` maps each counted post's id to its new total of views."""

    counts: Mapping[int, int]


@dataclass(frozen=True)
class CommentAdded:
    """A comment was added to a post its author can see."""

    comment: Comment


@dataclass(frozen=True)
class PostLiked:
    """``user`` liked ``post`` for the first time; a later like, after an unlike, sends nothing."""

    post: Post
    user: User


# Sent with removed=NetworkMemberRemoved(...) by do_remove_network_member.
network_member_removed = Signal()
# Sent with created=PostCreated(...) by do_create_post.
post_created = Signal()
# Sent with deleted=PostDeleted(...) by do_delete_post.
post_deleted = Signal()
# Sent with changed=PostViewsChanged(...) by do_record_views.
post_views_changed = Signal()
# Sent with added=CommentAdded(...) by do_comment.
comment_added = Signal()
# Sent with liked=PostLiked(...) by do_set_like.
post_liked = Signal()
