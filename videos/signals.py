"""Domain signals of videos: the worker's outcomes that a video's owner may need to hear about.

They are sent inside the transaction that made the change. A receiver that talks to the outside
world (the realtime layer's video-ready event) must defer that work with
``transaction.on_commit`` so a rolled-back change announces nothing.
"""

from django.dispatch import Signal

# video: Video (status "ready", mp4, webm and thumbnail saved)
video_ready = Signal()
# video: Video (status "failed", failure_reason says why)
video_failed = Signal()
