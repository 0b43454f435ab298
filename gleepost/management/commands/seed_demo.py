"""Demo data for trying the API in a minute: users with tokens, a network, posts, conversations."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.actions import do_register
from accounts.models import User
from accounts.tokens import issue_token
from conversations.actions import do_create_conversation, do_send_message
from posts.actions import do_add_network_members, do_create_network, do_create_post
from posts.models import Network

DEMO_PASSWORD = "gleepost-demo"
DEMO_USERS = ("alice", "bob", "carol")
NETWORK_NAME = "Demo Campus"


class Command(BaseCommand):
    help = "Create demo users (printing a fresh token for each), a network, posts and chats."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="where the service runs, for the printed examples",
        )

    def handle(self, *args: Any, base_url: str, **options: Any) -> None:
        with transaction.atomic():
            users = [self._user(name) for name in DEMO_USERS]
            alice, bob, carol = users
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
            tokens = {user.username: issue_token(user)[1] for user in users}

        self.stdout.write(f"Demo users (password {DEMO_PASSWORD!r}):")
        for user in users:
            self.stdout.write(
                f"  {user.username:<6} id={user.pk:<4} email={user.email:<18} "
                f"token={tokens[user.username]}"
            )
        self.stdout.write(f"Network {network.name!r} id={network.pk}")
        self.stdout.write(f"Regular conversation id={regular.pk}; live conversation id={live.pk}")
        ws_base = base_url.replace("http", "ws", 1)
        alice_auth = f"X-GP-Auth: {alice.pk}-{tokens['alice']}"
        self.stdout.write("\nTry it: watch Bob's events in one terminal...")
        bob_url = f"{ws_base}/api/v1/ws?id={bob.pk}&token={tokens['bob']}"
        self.stdout.write(f"  .venv/bin/python -m websockets '{bob_url}'")
        self.stdout.write("...and send him a message as Alice from another:")
        self.stdout.write(
            f"  curl -H '{alice_auth}' -d text=hello "
            f"{base_url}/api/v1/conversations/{regular.pk}/messages"
        )

    def _user(self, username: str) -> User:
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            return existing
        return do_register(username, f"{username}@example.com", DEMO_PASSWORD)
