"""Video state changes: upload, the worker's claim and outcomes, and reprocessing.

Every change runs in one transaction. ``video_ready`` is sent inside it; its receivers defer
outside effects to ``transaction.on_commit``. A failure announces nothing (``videos.signals``).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from django.core.files import File
from django.core.files.storage import Storage
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from accounts.models import User
from gleepost.conf import gp_settings
from gleepost.exceptions import DomainError, InvalidInput, NotFound
from gleepost.extensions import django as orm
from videos.models import Video
from videos.signals import VideoReady, video_ready

logger = logging.getLogger(__name__)

# Enough for ffmpeg's last error lines; a whole stderr dump does not belong in a row.
MAX_FAILURE_REASON_CHARS = 1000
# How many times a worker retries when another worker took the video it picked.
MAX_CLAIM_ATTEMPTS = 5
BYTES_PER_MB = 1024 * 1024
OUTPUT_FIELDS = ("mp4", "webm", "thumbnail")


class VideoTooLarge(DomainError):
    """An upload over ``MAX_VIDEO_MB``; the API answers 413."""

    status_code = 413


class VideoNotClaimed(DomainError):
    """A worker reports on a video that is no longer its own (it was reclaimed as stale)."""

    status_code = 409


def max_video_bytes() -> int:
    """The largest accepted upload, from ``MAX_VIDEO_MB``."""
    return int(gp_settings.MAX_VIDEO_MB * BYTES_PER_MB)


def get_video_for(user: User, video_id: int) -> Video:
    """The video if ``user`` owns it; anyone else gets the same answer as for an unknown id."""
    video = Video.objects.filter(pk=video_id, owner=user).first()
    if video is None:
        raise NotFound("Not found")
    return video


def do_upload_video(owner: User, uploaded_file: File[bytes]) -> Video:
    """Store an upload as a new video waiting for the worker (status ``uploaded``)."""
    size = uploaded_file.size
    if not size:
        raise InvalidInput("video: the file is empty")
    if size > max_video_bytes():
        raise VideoTooLarge(f"video: larger than {gp_settings.MAX_VIDEO_MB} MB")
    video = Video(owner=owner, status=Video.Status.UPLOADED)
    # Media is served without authentication: an unguessable name is what keeps a video private.
    video.file.save(_random_name(_extension(uploaded_file.name)), uploaded_file, save=False)
    try:
        with transaction.atomic():
            video.save()
    except BaseException:
        video.file.delete(save=False)
        raise
    return video


def claim_next_video() -> Video | None:
    """Take the oldest waiting video (or a stale "processing" one) for this worker, or None."""
    for _ in range(MAX_CLAIM_ATTEMPTS):
        with transaction.atomic():
            candidate = _waiting_videos().first()
            if candidate is None:
                return None
            if _try_claim(candidate):
                return candidate
    # Other workers kept winning the race; this one tries again on its next pass.
    return None


def _waiting_videos() -> QuerySet[Video]:
    stale_before = timezone.now() - timedelta(seconds=gp_settings.VIDEO_PROCESSING_STALE_SECS)
    abandoned = Q(status=Video.Status.PROCESSING) & (
        Q(processing_started_at__lt=stale_before) | Q(processing_started_at__isnull=True)
    )
    queryset = Video.objects.filter(Q(status=Video.Status.UPLOADED) | abandoned).order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL: workers skip rows another worker is claiming instead of queueing behind it.
        queryset = queryset.select_for_update(skip_locked=True)
    return queryset


def _try_claim(candidate: Video) -> bool:
    # Compare-and-set on the state the candidate was read in: on a database without row locks
    # (SQLite in DEFERRED mode) two workers can read the same candidate, and only one update
    # matches.
    now = timezone.now()
    claimed = Video.objects.filter(
        pk=candidate.pk,
        status=candidate.status,
        processing_started_at=candidate.processing_started_at,
    ).update(status=Video.Status.PROCESSING, processing_started_at=now, updated_at=now)
    if not claimed:
        return False
    candidate.status = Video.Status.PROCESSING
    candidate.processing_started_at = now
    candidate.updated_at = now
    return True


def do_mark_video_ready(
    video: Video,
    mp4_path: str | os.PathLike[str],
    webm_path: str | os.PathLike[str],
    thumbnail_path: str | os.PathLike[str],
    *,
    claimed_at: datetime | None = None,
) -> None:
    """Save the worker's outputs into the video, make it ready and send ``video_ready``.

    With ``claimed_at`` (the worker's ``processing_started_at``) the change is refused with
    ``VideoNotClaimed`` when another worker has since reclaimed the video.
    """
    saved: list[FieldFile] = []
    try:
        with transaction.atomic():
            current = _lock(video, claimed_at)
            replaced = _output_names(current)
            for field_name, path in zip(
                OUTPUT_FIELDS, (mp4_path, webm_path, thumbnail_path), strict=True
            ):
                saved.append(_save_output(current, field_name, Path(path)))
            current.status = Video.Status.READY
            current.failure_reason = ""
            _save(current, "status", "failure_reason", *OUTPUT_FIELDS)
            video_ready.send(sender=Video, ready=VideoReady(video=current))
            _delete_on_commit(current.file.storage, replaced)
    except BaseException:
        # Files are not transactional: a rolled-back change must not leave its outputs behind.
        for file in saved:
            _delete_files(file.storage, [file.name] if file.name else [])
        raise
    _copy_state(current, video)


def do_mark_video_failed(video: Video, reason: str, *, claimed_at: datetime | None = None) -> None:
    """Make the video failed with a readable reason (its owner sees it on their next GET)."""
    reason = reason.strip() or "processing failed for an unknown reason"
    if len(reason) > MAX_FAILURE_REASON_CHARS:
        # The end of ffmpeg's output is where it says what went wrong.
        reason = "…" + reason[-(MAX_FAILURE_REASON_CHARS - 1) :]
    with transaction.atomic():
        current = _lock(video, claimed_at)
        current.status = Video.Status.FAILED
        current.failure_reason = reason
        _save(current, "status", "failure_reason")
    _copy_state(current, video)


def do_release_video(video: Video, *, claimed_at: datetime | None = None) -> None:
    """Put a video the worker was told to stop on back in the queue, untouched."""
    with transaction.atomic():
        current = _lock(video, claimed_at)
        current.status = Video.Status.UPLOADED
        current.processing_started_at = None
        _save(current, "status", "processing_started_at")
    _copy_state(current, video)


def do_reprocess_video(video: Video) -> None:
    """Queue a video for the worker again; its old outputs are deleted once that is committed."""
    with transaction.atomic():
        current = _lock(video, None)
        if current.status == Video.Status.PROCESSING:
            raise InvalidInput("video is being processed; wait for it to finish")
        replaced = _output_names(current)
        for field_name in OUTPUT_FIELDS:
            setattr(current, field_name, "")
        current.status = Video.Status.UPLOADED
        current.failure_reason = ""
        current.processing_started_at = None
        _save(current, "status", "failure_reason", "processing_started_at", *OUTPUT_FIELDS)
        _delete_on_commit(current.file.storage, replaced)
    _copy_state(current, video)


def _lock(video: Video, claimed_at: datetime | None) -> Video:
    """The video's current row, locked until the transaction ends."""
    current = Video.objects.select_for_update().filter(pk=video.pk).first()
    if current is None:
        raise NotFound(f"video {video.pk} no longer exists")
    if claimed_at is not None and (
        current.status != Video.Status.PROCESSING or current.processing_started_at != claimed_at
    ):
        raise VideoNotClaimed(f"video {video.pk} is no longer claimed by this worker")
    return current


def _copy_state(source: Video, target: Video) -> None:
    # The caller's instance learns the new state only once the change has gone through.
    if target is not source:
        for field in orm.concrete_fields(Video):
            setattr(target, field.attname, getattr(source, field.attname))


def _save(video: Video, *fields: str) -> None:
    video.updated_at = timezone.now()
    video.save(update_fields=[*fields, "updated_at"])


def _save_output(video: Video, field_name: str, path: Path) -> FieldFile:
    file: FieldFile = getattr(video, field_name)
    with path.open("rb") as source:
        file.save(_random_name(path.suffix), File(source), save=False)
    return file


def _output_names(video: Video) -> list[str]:
    return [name for name in (getattr(video, field).name for field in OUTPUT_FIELDS) if name]


def _delete_on_commit(storage: Storage, names: list[str]) -> None:
    if names:
        transaction.on_commit(lambda: _delete_files(storage, names))


def _delete_files(storage: Storage, names: Iterable[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            # A leftover file costs disk space, not correctness; the state change stands.
            logger.warning("Could not delete video file %s", name, exc_info=True)


def _random_name(extension: str) -> str:
    return f"{secrets.token_hex(32)}{extension}"


def _extension(filename: str | None) -> str:
    # Only a short, plain extension survives; anything else in a client's filename is dropped.
    suffix = Path(filename or "").suffix.lower()
    return suffix if 1 < len(suffix) <= 6 and suffix[1:].isalnum() and suffix.isascii() else ""
