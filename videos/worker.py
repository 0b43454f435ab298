"""The video worker's unit of work: claim one waiting video, transcode it, record the outcome."""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from videos.actions import (
    VideoNotClaimed,
    claim_next_video,
    do_mark_video_failed,
    do_mark_video_ready,
    do_release_video,
)
from videos.models import Video
from videos.processing import ProcessingError, transcode

logger = logging.getLogger(__name__)

UNEXPECTED_FAILURE = "internal error while processing (see the worker's log)"


def process_one() -> bool:
    """Process the next waiting video; False when there was none."""
    return process_next() is not None


def process_next() -> Video | None:
    """Process the next waiting video and return it with its outcome, or None when idle."""
    video = claim_next_video()
    if video is None:
        return None
    claimed_at = video.processing_started_at
    assert claimed_at is not None
    try:
        _process(video, claimed_at)
    except VideoNotClaimed:
        # The claim went stale and another worker owns the video now; its outcome counts.
        logger.warning("Video %s was reclaimed by another worker; result dropped", video.pk)
        video.refresh_from_db()
    except BaseException:
        # Told to stop mid-video (a second Ctrl-C): queue it again rather than leave it stuck.
        _release(video, claimed_at)
        raise
    return video


def _process(video: Video, claimed_at: datetime) -> None:
    """Transcode in a private temporary folder, removed whatever happens."""
    workdir = Path(tempfile.mkdtemp(prefix=f"gleepost-video-{video.pk}-"))
    try:
        source = _fetch_source(video, workdir)
        outputs = transcode(source, workdir)
        do_mark_video_ready(
            video, outputs.mp4, outputs.webm, outputs.thumbnail, claimed_at=claimed_at
        )
    except ProcessingError as error:
        logger.info("Video %s failed: %s", video.pk, error.reason)
        do_mark_video_failed(video, error.reason, claimed_at=claimed_at)
    except (VideoNotClaimed, KeyboardInterrupt, SystemExit):
        raise
    except Exception:
        logger.exception("Unexpected error while processing video %s", video.pk)
        do_mark_video_failed(video, UNEXPECTED_FAILURE, claimed_at=claimed_at)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _fetch_source(video: Video, workdir: Path) -> Path:
    # Copied out of the storage so that ffmpeg reads a local file whatever the storage is.
    source = workdir / f"source{Path(video.file.name or '').suffix}"
    try:
        with video.file.open("rb") as stored, source.open("wb") as local:
            shutil.copyfileobj(stored, local)
    except OSError as error:
        raise ProcessingError(f"the uploaded file could not be read: {error}") from error
    return source


def _release(video: Video, claimed_at: datetime) -> None:
    try:
        do_release_video(video, claimed_at=claimed_at)
    except Exception:
        # The stale-claim timeout takes the video up again later.
        logger.exception("Could not put video %s back in the queue", video.pk)
