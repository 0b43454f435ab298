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
        stop = threading.Event()
        previous = _stop_on_signals(stop)
        try:
            self._run(stop, once=once, interval=interval)
        except KeyboardInterrupt:
            # The second signal: the worker has put its unfinished video back in the queue.
            self.stderr.write("Interrupted; an unfinished video will be processed again.")
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _run(self, stop: threading.Event, *, once: bool, interval: float) -> None:
        while not stop.is_set():
            video = process_next() if once else _resilient_pass(interval)
            if video is not None:
                self._report(video)
            elif once or stop.wait(interval):
                return

    def _report(self, video: Video) -> None:
        outcome = str(video.status)
        if video.status == Video.Status.FAILED:
            outcome = f"failed: {video.failure_reason}"
        elif video.status == Video.Status.PROCESSING:
            outcome = "left to the worker that took it over"
        self.stdout.write(f"video {video.pk}: {outcome}")


def _resilient_pass(interval: float) -> Video | None:
    """One pass of the long-running worker, which must outlive database and storage outages."""
    # Connections that broke while the worker slept are dropped, as after a request.
    close_old_connections()
    try:
        return process_next()
    except Exception:
        logger.exception("Video worker pass failed; retrying in %s s", interval)
        return None


def _stop_on_signals(stop: threading.Event) -> dict[int, Any]:
    """The first SIGTERM/SIGINT stops after the current video; a second one interrupts it."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    return {signum: signal.signal(signum, handle) for signum in (signal.SIGTERM, signal.SIGINT)}
