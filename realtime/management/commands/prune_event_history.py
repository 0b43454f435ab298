"""Drop stored stream events past the retention limits (GLEEPOST EVENT_HISTORY_*)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from realtime.history import prune


class Command(BaseCommand):
    help = "Delete stream events older than EVENT_HISTORY_HOURS or beyond EVENT_HISTORY_PER_USER."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="run until stopped")
        parser.add_argument(
            "--interval", type=float, default=300.0, help="seconds between passes with --loop"
        )

    def handle(self, *args: Any, loop: bool, interval: float, **options: Any) -> None:
        stop = threading.Event()
        if loop:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        while True:
            deleted = prune()
            if deleted or not loop:
                self.stdout.write(f"pruned {deleted} stream event(s)")
            if not loop or stop.wait(interval):
                return
