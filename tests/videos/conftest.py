"""Fixtures of the videos tests: a private MEDIA_ROOT, test clips made by ffmpeg, videos in each
state, and a recorder of domain signals."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import User
from videos.actions import do_mark_video_failed, do_mark_video_ready, do_upload_video
from videos.models import Video

# Not a real video: enough for tests that never run ffmpeg.
FAKE_VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 1000
JPEG_MAGIC = b"\xff\xd8"


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Every file a test stores lands in its own temporary folder, never in the repository."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def make_clip(tmp_path: Path) -> Callable[..., Path]:
    """Make a test clip with ffmpeg's test pattern (and a sine tone unless ``audio=False``)."""

    def make(
        name: str = "clip.mp4",
        *,
        duration: float = 1,
        size: str = "160x120",
        audio: bool = True,
        codec_args: tuple[str, ...] = ("-pix_fmt", "yuv420p"),
    ) -> Path:
        path = tmp_path / name
        inputs = ["-f", "lavfi", "-i", f"testsrc=duration={duration}:size={size}:rate=10"]
        if audio:
            inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}"]
        command = ["ffmpeg", "-nostdin", "-y", "-hide_banner", "-loglevel", "error", *inputs]
        subprocess.run(
            [*command, *codec_args, "-shortest", str(path)],
            check=True,
            timeout=60,
        )
        return path

    return make


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Video]:
    """A video of ``owner`` in the given status; a ready one has small stand-in output files."""

    def make(owner: User, status: str = Video.Status.UPLOADED) -> Video:
        video = do_upload_video(owner, ContentFile(FAKE_VIDEO_BYTES, name="clip.mp4"))
        if status == Video.Status.PROCESSING:
            # As a worker's claim leaves it, without depending on which video is oldest.
            Video.objects.filter(pk=video.pk).update(
                status=status, processing_started_at=timezone.now()
            )
            video.refresh_from_db()
        elif status == Video.Status.READY:
            do_mark_video_ready(video, *fake_outputs(tmp_path / f"outputs-{video.pk}"))
        elif status == Video.Status.FAILED:
            do_mark_video_failed(video, "Invalid data found when processing input")
        return video

    return make


def fake_outputs(folder: Path) -> tuple[Path, Path, Path]:
    """Files standing in for the worker's mp4, webm and thumbnail."""
    folder.mkdir(parents=True, exist_ok=True)
    mp4, webm, jpg = folder / "out.mp4", folder / "out.webm", folder / "out.jpg"
    mp4.write_bytes(b"mp4 bytes")
    webm.write_bytes(b"webm bytes")
    jpg.write_bytes(JPEG_MAGIC + b"jpeg bytes")
    return mp4, webm, jpg
