"""Video state changes: upload, claims, outcomes, reprocessing, and the signals they send."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from gleepost.exceptions import InvalidInput
from tests.conftest import Member
from tests.signal_recorder import SignalCalls
from tests.videos.conftest import FAKE_VIDEO_BYTES, fake_outputs
from videos import actions
from videos.actions import (
    MAX_FAILURE_REASON_CHARS,
    VideoNotClaimed,
    VideoTooLarge,
    claim_next_video,
    do_mark_video_failed,
    do_mark_video_ready,
    do_release_video,
    do_reprocess_video,
    do_upload_video,
)
from videos.models import Video
from videos.signals import VideoReady, video_ready

pytestmark = pytest.mark.django_db

MakeVideo = Callable[..., Video]
RecordSignal = Callable[[Any], SignalCalls]


def stored(media_root: Path, name: str) -> bool:
    return (media_root / name).is_file()


class TestUpload:
    def test_empty_file_is_refused(self, alice: Member) -> None:
        with pytest.raises(InvalidInput, match="empty"):
            do_upload_video(alice.user, ContentFile(b"", name="clip.mp4"))
        assert not Video.objects.exists()

    def test_file_over_the_limit_is_refused_with_413(self, alice: Member, settings: Any) -> None:
        settings.GLEEPOST = {"MAX_VIDEO_MB": 1}

        with pytest.raises(VideoTooLarge) as raised:
            do_upload_video(alice.user, ContentFile(b"x" * (1024 * 1024 + 1), name="a.mp4"))

        assert raised.value.status_code == 413
        assert not Video.objects.exists()

    def test_upload_waits_for_the_worker(self, alice: Member, media_root: Path) -> None:
        video = do_upload_video(alice.user, ContentFile(FAKE_VIDEO_BYTES, name="clip.mov"))

        video.refresh_from_db()
        assert video.status == Video.Status.UPLOADED
        assert video.processing_started_at is None
        assert video.file.name.endswith(".mov")
        assert (media_root / video.file.name).read_bytes() == FAKE_VIDEO_BYTES


class TestClaim:
    def test_nothing_waiting_claims_nothing(self, alice: Member, make_video: MakeVideo) -> None:
        make_video(alice.user, Video.Status.READY)
        make_video(alice.user, Video.Status.FAILED)

        assert claim_next_video() is None

    def test_oldest_uploaded_video_is_claimed_first(
        self, alice: Member, bob: Member, make_video: MakeVideo
    ) -> None:
        first = make_video(alice.user)
        second = make_video(bob.user)

        claimed = claim_next_video()

        assert claimed is not None and claimed.pk == first.pk
        claimed.refresh_from_db()
        assert claimed.status == Video.Status.PROCESSING
        assert claimed.processing_started_at is not None
        assert timezone.now() - claimed.processing_started_at < timedelta(seconds=60)
        second.refresh_from_db()
        assert second.status == Video.Status.UPLOADED

    def test_two_claims_never_return_the_same_video(
        self, alice: Member, make_video: MakeVideo
    ) -> None:
        videos = [make_video(alice.user) for _ in range(3)]

        claims = [claim_next_video() for _ in range(4)]

        claimed_ids = [video.pk for video in claims if video is not None]
        assert claimed_ids == [video.pk for video in videos]
        assert claims[3] is None

    def test_video_another_worker_took_cannot_be_claimed_again(
        self, alice: Member, make_video: MakeVideo
    ) -> None:
        # Two workers read the same candidate (SQLite without row locks); the second update
        # must not match.
        video = make_video(alice.user)
        seen_by_first = Video.objects.get(pk=video.pk)
        seen_by_second = Video.objects.get(pk=video.pk)

        assert actions._try_claim(seen_by_first) is True
        assert actions._try_claim(seen_by_second) is False
        assert seen_by_second.status == Video.Status.UPLOADED

    def test_fresh_processing_video_is_left_to_its_worker(
        self, alice: Member, make_video: MakeVideo
    ) -> None:
        make_video(alice.user, Video.Status.PROCESSING)

        assert claim_next_video() is None

    def test_stale_processing_video_is_reclaimed(
        self, alice: Member, make_video: MakeVideo, settings: Any
    ) -> None:
        settings.GLEEPOST = {"VIDEO_PROCESSING_STALE_SECS": 60}
        video = make_video(alice.user, Video.Status.PROCESSING)
        long_ago = timezone.now() - timedelta(seconds=61)
        Video.objects.filter(pk=video.pk).update(processing_started_at=long_ago)

        claimed = claim_next_video()

        assert claimed is not None and claimed.pk == video.pk
        assert claimed.status == Video.Status.PROCESSING
        assert claimed.processing_started_at is not None
        assert claimed.processing_started_at > long_ago
        assert claim_next_video() is None

    @pytest.mark.django_db(transaction=True)
    @pytest.mark.needs_postgres
    def test_concurrent_workers_claim_each_video_once(
        self, alice: Member, make_video: MakeVideo
    ) -> None:
        videos = [make_video(alice.user) for _ in range(12)]
        claimed: list[int] = []
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def worker() -> None:
            try:
                start.wait()
                while (video := claim_next_video()) is not None:
                    claimed.append(video.pk)
            except BaseException as error:
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        assert sorted(claimed) == [video.pk for video in videos]


class TestMarkReady:
    def test_outputs_are_stored_and_video_ready_sent_once(
        self,
        alice: Member,
        make_video: MakeVideo,
        record_signal: RecordSignal,
        media_root: Path,
        tmp_path: Path,
    ) -> None:
        ready = record_signal(video_ready)
        in_transaction: list[bool] = []
        video_ready.connect(
            lambda **kwargs: in_transaction.append(connection.in_atomic_block),
            weak=False,
            dispatch_uid="test-in-transaction",
        )
        video = make_video(alice.user, Video.Status.PROCESSING)
        Video.objects.filter(pk=video.pk).update(failure_reason="old failure")
        try:
            do_mark_video_ready(video, *fake_outputs(tmp_path / "outputs"))
        finally:
            video_ready.disconnect(dispatch_uid="test-in-transaction")

        video.refresh_from_db()
        assert video.status == Video.Status.READY
        assert video.failure_reason == ""
        assert (media_root / video.mp4.name).read_bytes() == b"mp4 bytes"
        assert (media_root / video.webm.name).read_bytes() == b"webm bytes"
        assert (media_root / video.thumbnail.name).read_bytes().startswith(b"\xff\xd8")
        assert ready == [VideoReady(video=video)]
        assert ready[0].video.status == Video.Status.READY
        assert in_transaction == [True]

    def test_callers_instance_sees_the_new_state(
        self, alice: Member, make_video: MakeVideo, tmp_path: Path
    ) -> None:
        video = make_video(alice.user, Video.Status.PROCESSING)

        do_mark_video_ready(video, *fake_outputs(tmp_path / "outputs"))

        assert video.status == Video.Status.READY
        assert video.mp4.name.startswith("videos/mp4/")

    def test_rolled_back_ready_leaves_no_files(
        self,
        alice: Member,
        make_video: MakeVideo,
        media_root: Path,
        tmp_path: Path,
    ) -> None:
        video = make_video(alice.user, Video.Status.PROCESSING)

        def refuse(**kwargs: Any) -> None:
            raise RuntimeError("receiver failed")

        video_ready.connect(refuse, weak=False, dispatch_uid="test-refuse")
        try:
            with pytest.raises(RuntimeError):
                do_mark_video_ready(video, *fake_outputs(tmp_path / "outputs"))
        finally:
            video_ready.disconnect(dispatch_uid="test-refuse")

        video.refresh_from_db()
        assert video.status == Video.Status.PROCESSING
        assert not video.mp4.name
        assert not (media_root / "videos" / "mp4").exists() or not any(
            (media_root / "videos" / "mp4").iterdir()
        )

    def test_worker_whose_claim_was_taken_over_cannot_mark_ready(
        self, alice: Member, make_video: MakeVideo, record_signal: RecordSignal, tmp_path: Path
    ) -> None:
        ready = record_signal(video_ready)
        video = make_video(alice.user, Video.Status.PROCESSING)
        old_claim = video.processing_started_at
        assert old_claim is not None
        Video.objects.filter(pk=video.pk).update(
            processing_started_at=old_claim + timedelta(hours=1)
        )

        with pytest.raises(VideoNotClaimed):
            do_mark_video_ready(video, *fake_outputs(tmp_path / "o"), claimed_at=old_claim)

        video.refresh_from_db()
        assert video.status == Video.Status.PROCESSING
        assert ready == []


class TestMarkFailed:
    def test_failure_keeps_the_reason(self, alice: Member, make_video: MakeVideo) -> None:
        video = make_video(alice.user, Video.Status.PROCESSING)

        do_mark_video_failed(video, "moov atom not found")

        video.refresh_from_db()
        assert video.status == Video.Status.FAILED
        assert video.failure_reason == "moov atom not found"

    def test_long_reason_keeps_its_end(self, alice: Member, make_video: MakeVideo) -> None:
        video = make_video(alice.user, Video.Status.PROCESSING)

        do_mark_video_failed(video, "x" * 5000 + " the real error")

        video.refresh_from_db()
        assert len(video.failure_reason) == MAX_FAILURE_REASON_CHARS
        assert video.failure_reason.endswith(" the real error")

    def test_blank_reason_is_replaced(self, alice: Member, make_video: MakeVideo) -> None:
        video = make_video(alice.user, Video.Status.PROCESSING)

        do_mark_video_failed(video, "  ")

        video.refresh_from_db()
        assert video.failure_reason == "processing failed for an unknown reason"


class TestReprocess:
    def test_ready_video_goes_back_to_uploaded_and_old_files_go(
        self,
        alice: Member,
        make_video: MakeVideo,
        media_root: Path,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        video = make_video(alice.user, Video.Status.READY)
        outputs = [video.mp4.name, video.webm.name, video.thumbnail.name]
        assert all(stored(media_root, name) for name in outputs)

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            do_reprocess_video(video)
        # Until the change is committed the old files stay: a rollback must find them.
        assert all(stored(media_root, name) for name in outputs)
        for callback in callbacks:
            callback()

        video.refresh_from_db()
        assert video.status == Video.Status.UPLOADED
        assert (video.mp4.name, video.webm.name, video.thumbnail.name) == ("", "", "")
        assert video.processing_started_at is None
        assert not any(stored(media_root, name) for name in outputs)
        assert stored(media_root, video.file.name)

    def test_failed_video_is_queued_again_without_its_reason(
        self, alice: Member, make_video: MakeVideo
    ) -> None:
        video = make_video(alice.user, Video.Status.FAILED)

        do_reprocess_video(video)

        video.refresh_from_db()
        assert video.status == Video.Status.UPLOADED
        assert video.failure_reason == ""
        assert claim_next_video() == video

    def test_video_being_processed_is_refused(self, alice: Member, make_video: MakeVideo) -> None:
        video = make_video(alice.user, Video.Status.PROCESSING)

        with pytest.raises(InvalidInput, match="being processed"):
            do_reprocess_video(video)

        video.refresh_from_db()
        assert video.status == Video.Status.PROCESSING


def test_released_video_waits_again(alice: Member, make_video: MakeVideo) -> None:
    video = make_video(alice.user)
    claimed = claim_next_video()
    assert claimed is not None

    do_release_video(claimed, claimed_at=claimed.processing_started_at)

    video.refresh_from_db()
    assert video.status == Video.Status.UPLOADED
    assert video.processing_started_at is None
    with transaction.atomic():
        assert claim_next_video() == video
