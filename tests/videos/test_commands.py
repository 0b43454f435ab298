"""``process_videos``: the worker end to end, from an API upload to a ready or failed video."""

from __future__ import annotations

import io
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from realtime.models import StreamEvent
from tests.conftest import Member
from tests.signal_recorder import SignalCalls
from tests.videos.conftest import JPEG_MAGIC
from videos.management.commands import process_videos
from videos.models import Video
from videos.signals import video_ready

pytestmark = pytest.mark.django_db

RecordSignal = Callable[[Any], SignalCalls]


def upload(member: Member, content: bytes, name: str = "clip.mp4") -> int:
    response = member.client.post(
        "/api/v1/videos", {"video": SimpleUploadedFile(name, content)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    video_id: int = response.json()["id"]
    return video_id


def run_once() -> str:
    out = io.StringIO()
    call_command("process_videos", "--once", stdout=out)
    return out.getvalue()


@pytest.mark.needs_ffmpeg
@pytest.mark.slow
def test_uploaded_clip_becomes_ready_with_real_files(
    alice: Member,
    make_clip: Callable[..., Path],
    record_signal: RecordSignal,
    media_root: Path,
    settings: Any,
) -> None:
    # As ./scripts/serve runs the worker: its video-ready URLs are absolute on its address.
    settings.GLEEPOST = {**getattr(settings, "GLEEPOST", {}), "PUBLIC_URL": "http://127.0.0.1:8000"}
    ready = record_signal(video_ready)
    video_id = upload(alice, make_clip().read_bytes())

    output = run_once()

    assert output == f"video {video_id}: ready\n"
    video = Video.objects.get(pk=video_id)
    assert video.status == Video.Status.READY
    assert video.failure_reason == ""
    mp4 = (media_root / video.mp4.name).read_bytes()
    webm = (media_root / video.webm.name).read_bytes()
    jpg = (media_root / video.thumbnail.name).read_bytes()
    assert mp4[4:8] == b"ftyp"
    assert webm.startswith(b"\x1a\x45\xdf\xa3")  # EBML, the Matroska/WebM header
    assert jpg.startswith(JPEG_MAGIC)
    assert [call.video.pk for call in ready] == [video_id]
    data = alice.client.get(f"/api/v1/videos/{video_id}").json()
    base = "http://127.0.0.1:8000/media/"
    assert data == {
        "id": video_id,
        "status": "ready",
        "mp4": f"{base}{video.mp4.name}",
        "webm": f"{base}{video.webm.name}",
        "thumbnails": [f"{base}{video.thumbnail.name}"],
    }
    event = json.loads(StreamEvent.objects.get(stream_id=alice.id, type="video-ready").text)
    assert event["data"] == data


@pytest.mark.needs_ffmpeg
@pytest.mark.slow
def test_corrupt_upload_ends_failed_with_a_reason(
    alice: Member, record_signal: RecordSignal
) -> None:
    ready = record_signal(video_ready)
    video_id = upload(alice, os.urandom(64 * 1024))

    output = run_once()

    video = Video.objects.get(pk=video_id)
    assert video.status == Video.Status.FAILED
    assert video.failure_reason.startswith("making the mp4: ")
    assert len(video.failure_reason) > len("making the mp4: ")
    assert output == f"video {video_id}: failed: {video.failure_reason}\n"
    assert ready == []
    assert alice.client.get(f"/api/v1/videos/{video_id}").json() == {
        "id": video_id,
        "status": "failed",
    }


def test_once_processes_every_waiting_video_then_exits(
    alice: Member, bob: Member, make_video: Callable[..., Video], settings: Any
) -> None:
    # Without ffmpeg every video fails, which is enough to see each one taken exactly once.
    settings.GLEEPOST = {"FFMPEG_BINARY": "/nonexistent/ffmpeg"}
    first = make_video(alice.user)
    second = make_video(bob.user)
    done = make_video(alice.user, Video.Status.READY)

    output = run_once()

    assert output.splitlines() == [
        f"video {first.pk}: failed: making the mp4: ffmpeg not installed",
        f"video {second.pk}: failed: making the mp4: ffmpeg not installed",
    ]
    assert set(Video.objects.values_list("pk", "status")) == {
        (first.pk, "failed"),
        (second.pk, "failed"),
        (done.pk, "ready"),
    }


def test_once_with_nothing_waiting_prints_nothing(alice: Member) -> None:
    assert run_once() == ""


def test_loop_stops_cleanly_on_sigterm(monkeypatch: pytest.MonkeyPatch) -> None:
    # Connections are the test's own here; closing them is the loop's job in production only.
    passes: list[int] = []

    def idle() -> None:
        passes.append(1)
        if len(passes) == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(process_videos, "process_next", idle)
    monkeypatch.setattr(process_videos, "close_old_connections", lambda: None)
    previous = signal.getsignal(signal.SIGTERM)

    call_command("process_videos", "--interval", "0.01")

    assert len(passes) == 3
    assert signal.getsignal(signal.SIGTERM) is previous


def test_loop_survives_a_failing_pass(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    passes: list[int] = []

    def broken() -> None:
        passes.append(1)
        if len(passes) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        raise ConnectionError("database went away")

    monkeypatch.setattr(process_videos, "process_next", broken)
    monkeypatch.setattr(process_videos, "close_old_connections", lambda: None)

    call_command("process_videos", "--interval", "0.01")

    assert len(passes) == 2
    assert "Video worker pass failed" in caplog.text


def test_second_signal_interrupts_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(process_videos, "process_next", interrupted)
    err = io.StringIO()

    call_command("process_videos", "--once", stderr=err)

    assert err.getvalue() == "Interrupted; an unfinished video will be processed again.\n"
