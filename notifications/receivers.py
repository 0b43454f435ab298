"""The notifications other apps' domain facts cause (rest-api.md, Notifications).

Each receiver runs inside the transaction of the action that sent the fact, so a notification is
stored with the change that caused it or not at all; a receiver that fails fails that action.
"""

from __future__ import annotations

from typing import Any

from notifications.actions import do_notify
from notifications.models import Notification
from posts.signals import PostLiked, post_liked


def on_post_liked(sender: Any, liked: PostLiked, **kwargs: Any) -> None:
    """``liked`` to the post's author (``do_notify`` skips a like of one's own post)."""
    do_notify(liked.post.by, Notification.Type.LIKED, liked.user, post=liked.post)


def connect_receivers() -> None:
    """Connect every receiver once (dispatch_uid makes a second call harmless)."""
    post_liked.connect(on_post_liked, dispatch_uid="notifications.on_post_liked")
