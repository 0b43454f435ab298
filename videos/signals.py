"""Domain signals of videos: the worker's outcomes that a video's owner hears about.

Each signal carries one frozen dataclass, defined beside it and named for the fact. They are
sent inside the transaction that made the change. A receiver that talks to the outside world
(the realtime layer's video-ready event) must defer that work with ``transaction.on_commit`` so
a rolled-back change announces nothing.

A video that fails sends nothing: the protocol has no event for it (websockets.md knows
``video-ready`` only), so its owner sees ``"status": "failed"`` when they next GET it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.dispatch import Signal

from videos.models import Video


@dataclass(frozen=True)
class VideoReady:
    """The worker finished a video: status "ready", its mp4, webm and thumbnail saved."""

    video: Video


# Sent with ready=VideoReady(...) by do_mark_video_ready.
video_ready = Signal()
