"""Channel-layer group names: one per user (all their connections) and one per post."""

from __future__ import annotations


def user_group(user_id: int) -> str:
    """Every connection of one user: their events reach each of their devices."""
    return f"user.{int(user_id)}"


def post_group(post_id: int) -> str:
    """The connections subscribed to one post's live view counts."""
    return f"post.{int(post_id)}"
