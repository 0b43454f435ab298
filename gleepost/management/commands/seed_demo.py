"""Demo data for trying the API in a minute: users with tokens, a network, posts, conversations,
and the README's walkthrough commands with their ids and tokens filled in."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.actions import do_register
from accounts.models import User
from accounts.tokens import issue_token
from conversations.actions import do_create_conversation, do_send_message
from conversations.models import Conversation
from posts.actions import do_add_network_members, do_create_network, do_create_post
from posts.models import Network

DEMO_PASSWORD = "gleepost-demo"
DEMO_USERS = ("alice", "bob", "carol")
NETWORK_NAME = "Demo Campus"


@dataclass(frozen=True)
class Demo:
    """What seed_demo made, as the walkthrough uses it."""

    users: dict[str, User]
    tokens: dict[str, str]
    network: Network
    post_ids: list[int]
    regular: Conversation
    live: Conversation


def walkthrough(demo: Demo, base_url: str) -> list[tuple[str, str]]:
    """The README's "Try it in a minute" steps: what each does, and its command filled in."""
    alice, bob = demo.users["alice"], demo.users["bob"]
    alice_auth = f"X-GP-Auth: {alice.pk}-{demo.tokens['alice']}"
    ws_url = f"{base_url.replace('http', 'ws', 1)}/api/v1/ws?id={bob.pk}&token={demo.tokens['bob']}"
    post = demo.post_ids[0]
    return [
        ("Watch Bob's events in one terminal:", f".venv/bin/python -m websockets '{ws_url}'"),
        (
            "Send Bob a message as Alice, from another terminal:",
            f"curl -H '{alice_auth}' -d text=hello "
            f"{base_url}/api/v1/conversations/{demo.regular.pk}/messages",
        ),
        (
            f"Subscribe Bob to post {post}'s view count: type this into his terminal...",
            json.dumps({"action": "SUBSCRIBE", "posts": [post]}, separators=(",", ":")),
        ),
        (
            "...and view the post as Alice:",
            f"curl -H '{alice_auth}' -H 'Content-Type: application/json' "
            f"-d '[{{\"post\":{post}}}]' {base_url}/api/v1/views/posts",
        ),
        (
            "Log in as a client does (it returns a new token):",
            f"curl -d email={alice.email} -d pass={DEMO_PASSWORD} {base_url}/api/v1/login",
        ),
    ]


class Command(BaseCommand):
    help = "Create demo users (printing a fresh token for each), a network, posts and chats."

    def add_arguments(self, parser: CommandParser) -> None:
        # Where scripts/serve listens: it reads the same HOST and PORT.
        host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
        parser.add_argument(
            "--base-url",
            default=f"http://{host}:{port}",
            help="where the service runs, for the printed commands (default: from HOST and PORT)",
        )

    def handle(self, *args: Any, base_url: str, **options: Any) -> None:
        demo = self._seed()
        self.stdout.write(f"Demo users (password {DEMO_PASSWORD!r}):")
        for user in demo.users.values():
            self.stdout.write(
                f"  {user.username:<6} id={user.pk:<4} email={user.email:<18} "
                f"token={demo.tokens[user.username]}"
            )
        posts = " and ".join(str(pk) for pk in demo.post_ids)
        self.stdout.write(f"Network {demo.network.name!r} id={demo.network.pk}, posts {posts}")
        self.stdout.write(
            f"Regular conversation id={demo.regular.pk}; live conversation id={demo.live.pk}"
        )
        self.stdout.write('\nTry it (README, "Try it in a minute"), the commands filled in:')
        for number, (what, command) in enumerate(walkthrough(demo, base_url.rstrip("/")), 1):
            self.stdout.write(f"{number}. {what}")
            self.stdout.write(f"    {command}")

    def _seed(self) -> Demo:
        with transaction.atomic():
            users = {name: self._user(name) for name in DEMO_USERS}
            alice, bob, carol = users.values()
            network = Network.objects.filter(name=NETWORK_NAME, creator=alice).first()
            if network is None:
                network = do_create_network(alice, NETWORK_NAME)
                do_add_network_members(network, alice, [bob.pk, carol.pk])
                do_create_post(network, alice, "Welcome to the demo campus!")
                do_create_post(network, bob, "Anyone up for coffee?")
            regular, _ = do_create_conversation(alice, [bob.pk])
            if not regular.messages.exists():
                do_send_message(regular, alice, "Hi Bob, this is a regular conversation.")
            live, _ = do_create_conversation(alice, [bob.pk, carol.pk], live=True)
            tokens = {name: issue_token(user)[1] for name, user in users.items()}
            post_ids = list(network.posts.order_by("pk").values_list("pk", flat=True))
        return Demo(users, tokens, network, post_ids, regular, live)

    def _user(self, username: str) -> User:
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            return existing
        return do_register(username, f"{username}@example.com", DEMO_PASSWORD)
