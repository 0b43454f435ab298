"""End live conversations whose expiry has passed (each with its ended-conversation event)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from conversations.actions import do_end_expired_conversations


class Command(BaseCommand):
    help = "End every live conversation whose expiry time has passed; --loop keeps doing it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="run until stopped")
        parser.add_argument(
            "--interval", type=float, default=5.0, help="seconds between passes with --loop"
        )

    def handle(self, *args: Any, loop: bool, interval: float, **options: Any) -> None:
        stop = threading.Event()
        if loop:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        while True:
            ended = do_end_expired_conversations()
            for conversation_id in ended:
                self.stdout.write(f"ended conversation {conversation_id}")
            if not loop or stop.wait(0 if len(ended) >= 1000 else interval):
                return
