"""Channel-layer group names: one per user (all their connections), post and network."""

from __future__ import annotations


def user_group(user_id: int) -> str:
    """Every connection of one user: their events reach each of their devices."""
    return f"user.{int(user_id)}"


def post_group(post_id: int) -> str:
    """The connections subscribed to one post: its live view counts and new comments."""
    return f"post.{int(post_id)}"


def network_group(network_id: int) -> str:
    """The connections subscribed to one network: its new posts."""
    return f"network.{int(network_id)}"
