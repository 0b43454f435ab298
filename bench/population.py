"""The benchmark's users, tokens, videos, network and post, created in bulk in the bench database.

Runs inside the orchestrator after ``django.setup()``; the daphne and publisher processes it
starts read the same database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

BATCH = 2000


@dataclass(frozen=True)
class Member:
    user_id: int
    token: str

    def query(self) -> str:
        return f"id={self.user_id}&token={self.token}"


def migrate() -> None:
    call_command("migrate", verbosity=0, interactive=False)


def make_members(count: int, tag: str) -> list[Member]:
    """``count`` users, each with a login token and one ready video (what the worker sends)."""
    import secrets

    from accounts.models import AuthToken, User
    from accounts.tokens import hash_token
    from videos.models import Video

    unusable = make_password(None)
    expires = timezone.now() + timedelta(days=30)
    members: list[Member] = []
    with transaction.atomic():
        users = User.objects.bulk_create(
            (
                User(username=f"{tag}{n}", email=f"{tag}{n}@bench.invalid", password=unusable)
                for n in range(count)
            ),
            batch_size=BATCH,
        )
        if users and users[0].pk is None:  # databases that do not return ids (none we use)
            users = list(User.objects.filter(username__startswith=tag).order_by("pk"))
        raw = {user.pk: secrets.token_hex(32) for user in users}
        AuthToken.objects.bulk_create(
            (AuthToken(user=u, key_hash=hash_token(raw[u.pk]), expires_at=expires) for u in users),
            batch_size=BATCH,
        )
        Video.objects.bulk_create(
            (
                Video(owner=u, status=Video.Status.READY, file=f"videos/uploads/{tag}{u.pk}.mp4")
                for u in users
            ),
            batch_size=BATCH,
        )
        members = [Member(u.pk, raw[u.pk]) for u in users]
    return members


def make_post(members: list[Member], tag: str) -> int:
    """A post in a network all ``members`` belong to, so that each may subscribe to it."""
    from posts.models import Membership, Network, Post

    with transaction.atomic():
        network = Network.objects.create(name=f"{tag} network", creator_id=members[0].user_id)
        Membership.objects.bulk_create(
            (Membership(network=network, user_id=m.user_id) for m in members), batch_size=BATCH
        )
        post = Post.objects.create(network=network, by_id=members[0].user_id, text="bench")
    return post.pk


def make_conversations(members: list[Member], size: int, count: int) -> list[tuple[int, list[int]]]:
    """``count`` conversations of ``size`` participants from ``members`` (disjoint where
    possible), created through the real action; returns (conversation id, participant ids)."""
    from accounts.models import User
    from conversations import actions

    made = []
    for n in range(count):
        group = [members[(n * size + k) % len(members)] for k in range(size)]
        creator = User.objects.get(pk=group[0].user_id)
        conversation, _ = actions.do_create_conversation(creator, [m.user_id for m in group[1:]])
        made.append((conversation.pk, [m.user_id for m in group]))
    return made
