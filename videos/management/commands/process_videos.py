"""The video worker (rest-api.md, Videos): turns uploaded videos into ready (or failed) ones."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from videos.models import Video
from videos.worker import process_next

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Process uploaded videos with ffmpeg until stopped; --once empties the queue and exits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="process what waits, then exit")
        parser.add_argument(
            "--interval", type=float, default=2.0, help="seconds to sleep when nothing waits"
        )

    def handle(self, *args: Any, once: bool, interval: float, **options: Any) -> None:
        if once:
            while (video := process_next()) is not None:
                self._report(video)
            return
        stop = threading.Event()
        previous = _stop_on_signals(stop)
        try:
            self._loop(stop, interval)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _loop(self, stop: threading.Event, interval: float) -> None:
        while not stop.is_set():
            # A worker outlives database restarts: drop connections that broke while idle.
            close_old_connections()
            try:
                video = process_next()
            except Exception:
                # The database or the storage is away; keep the worker alive until it is back.
                logger.exception("Video worker pass failed; retrying in %s s", interval)
                video = None
            if video is not None:
                self._report(video)
            elif stop.wait(interval):
                return

    def _report(self, video: Video) -> None:
        outcome = str(video.status)
        if video.status == Video.Status.FAILED:
            outcome = f"failed: {video.failure_reason}"
        self.stdout.write(f"video {video.pk}: {outcome}")


def _stop_on_signals(stop: threading.Event) -> dict[int, Any]:
    """The first SIGTERM/SIGINT stops after the current video; a second one interrupts it."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    return {signum: signal.signal(signum, handle) for signum in (signal.SIGTERM, signal.SIGINT)}
