"""A management command that does one pass of a job, or keeps doing it with ``--loop``."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class PeriodicCommand(BaseCommand):
    """Subclasses implement ``run_once`` and set ``default_interval_secs``."""

    default_interval_secs = 60.0

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="run until stopped")
        parser.add_argument(
            "--interval",
            type=float,
            default=self.default_interval_secs,
            help="seconds between passes with --loop",
        )

    def run_once(self) -> bool:
        """One pass of the job; True when there may be more to do at once."""
        raise NotImplementedError

    def handle(self, *args: Any, loop: bool, interval: float, **options: Any) -> None:
        stop = threading.Event()
        if loop:
            # Finish the pass under way, then exit: SIGTERM from systemd or scripts/serve.
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        while True:
            more = self.run_once()
            if not loop or stop.wait(0 if more else interval):
                return
