"""The worker's unit of work: every claimed video ends ready or failed, and leaves no temp files."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from realtime.models import StreamEvent
from tests.conftest import Member
from tests.signal_recorder import SignalCalls
from tests.videos.conftest import fake_outputs
from videos import worker
from videos.models import Video
from videos.processing import Outputs, ProcessingError
from videos.signals import video_ready

pytestmark = pytest.mark.django_db

MakeVideo = Callable[..., Video]
RecordSignal = Callable[[Any], SignalCalls]


@pytest.fixture
def workdirs(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The temporary folders the worker makes, to check they are gone afterwards."""
    made: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(**kwargs: Any) -> str:
        path = real_mkdtemp(**kwargs)
        made.append(Path(path))
        return path

    monkeypatch.setattr(worker.tempfile, "mkdtemp", mkdtemp)
    return made


def fake_transcode(source: Path, workdir: Path) -> Outputs:
    assert source.read_bytes()  # the upload was copied into the worker's folder
    return Outputs(*fake_outputs(Path(workdir) / "outputs"))


def test_nothing_waiting_means_nothing_processed(alice: Member) -> None:
    assert worker.process_one() is False
    assert worker.process_next() is None


def test_successful_transcode_makes_the_video_ready(
    alice: Member,
    make_video: MakeVideo,
    monkeypatch: pytest.MonkeyPatch,
    record_signal: RecordSignal,
    workdirs: list[Path],
) -> None:
    ready = record_signal(video_ready)
    video = make_video(alice.user)
    monkeypatch.setattr(worker, "transcode", fake_transcode)

    assert worker.process_one() is True

    video.refresh_from_db()
    assert video.status == Video.Status.READY
    assert [call.video.pk for call in ready] == [video.pk]
    assert len(workdirs) == 1 and not workdirs[0].exists()


def test_the_workers_video_ready_carries_urls_absolute_on_the_public_url(
    alice: Member, make_video: MakeVideo, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # The worker builds the event with no request at hand: the address is the setting's.
    settings.GLEEPOST = {
        **getattr(settings, "GLEEPOST", {}),
        "PUBLIC_URL": "https://gleepost.example.com",
    }
    video = make_video(alice.user)
    monkeypatch.setattr(worker, "transcode", fake_transcode)

    assert worker.process_one() is True

    video.refresh_from_db()
    recorded = StreamEvent.objects.get(stream_id=alice.id, type="video-ready")
    base = "https://gleepost.example.com/media/"
    data = {
        "id": video.pk,
        "status": "ready",
        "mp4": f"{base}{video.mp4.name}",
        "webm": f"{base}{video.webm.name}",
        "thumbnails": [f"{base}{video.thumbnail.name}"],
    }
    assert json.loads(recorded.text)["data"] == data
    assert alice.client.get(f"/api/v1/videos/{video.pk}").json() == data


def test_processing_error_fails_the_video_with_its_reason(
    alice: Member,
    make_video: MakeVideo,
    monkeypatch: pytest.MonkeyPatch,
    workdirs: list[Path],
) -> None:
    video = make_video(alice.user)

    def broken(source: Path, workdir: Path) -> Outputs:
        (Path(workdir) / "partial.mp4").write_bytes(b"half a video")
        raise ProcessingError("making the mp4: moov atom not found")

    monkeypatch.setattr(worker, "transcode", broken)

    processed = worker.process_next()

    assert processed is not None and processed.pk == video.pk
    assert processed.status == Video.Status.FAILED
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert video.failure_reason == "making the mp4: moov atom not found"
    assert not workdirs[0].exists()


def test_unexpected_error_is_logged_and_fails_the_video(
    alice: Member,
    make_video: MakeVideo,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    workdirs: list[Path],
) -> None:
    video = make_video(alice.user)

    def bug(source: Path, workdir: Path) -> Outputs:
        raise KeyError("surprise")

    monkeypatch.setattr(worker, "transcode", bug)

    worker.process_one()

    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert video.failure_reason == worker.UNEXPECTED_FAILURE
    assert f"Unexpected error while processing video {video.pk}" in caplog.text
    assert "KeyError: 'surprise'" in caplog.text
    assert not workdirs[0].exists()


def test_missing_upload_fails_the_video(
    alice: Member, make_video: MakeVideo, media_root: Path
) -> None:
    video = make_video(alice.user)
    (media_root / video.file.name).unlink()

    worker.process_one()

    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert video.failure_reason.startswith("the uploaded file could not be read")


def test_interrupted_video_is_put_back_in_the_queue(
    alice: Member, make_video: MakeVideo, monkeypatch: pytest.MonkeyPatch, workdirs: list[Path]
) -> None:
    video = make_video(alice.user)

    def interrupted(source: Path, workdir: Path) -> Outputs:
        raise KeyboardInterrupt

    monkeypatch.setattr(worker, "transcode", interrupted)

    with pytest.raises(KeyboardInterrupt):
        worker.process_one()

    video.refresh_from_db()
    assert video.status == Video.Status.UPLOADED
    assert video.processing_started_at is None
    assert not workdirs[0].exists()


def test_result_of_a_reclaimed_video_is_dropped(
    alice: Member,
    make_video: MakeVideo,
    monkeypatch: pytest.MonkeyPatch,
    record_signal: RecordSignal,
) -> None:
    ready = record_signal(video_ready)
    video = make_video(alice.user)

    def slow_transcode(source: Path, workdir: Path) -> Outputs:
        # Meanwhile the claim went stale and another worker took the video.
        Video.objects.filter(pk=video.pk).update(processing_started_at="2100-01-01T00:00:00Z")
        return fake_transcode(source, workdir)

    monkeypatch.setattr(worker, "transcode", slow_transcode)

    processed = worker.process_next()

    assert processed is not None and processed.status == Video.Status.PROCESSING
    video.refresh_from_db()
    assert video.status == Video.Status.PROCESSING
    assert not video.mp4.name
    assert ready == []
