"""ffmpeg transcoding: the outputs' formats, awkward inputs, and how failures are reported."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.videos.conftest import JPEG_MAGIC
from videos.processing import ProcessingError, transcode

MakeClip = Callable[..., Path]


def streams(path: Path) -> dict[str, dict[str, Any]]:
    """The first video and audio stream of a file, by type, as ffprobe reports them."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        timeout=30,
    )
    probed = json.loads(result.stdout)
    found: dict[str, dict[str, Any]] = {"format": probed["format"]}
    for stream in probed["streams"]:
        found.setdefault(stream["codec_type"], stream)
    return found


@pytest.mark.needs_ffmpeg
@pytest.mark.slow
class TestTranscode:
    def test_outputs_are_h264_aac_mp4_vp8_opus_webm_and_jpeg(
        self, make_clip: MakeClip, tmp_path: Path
    ) -> None:
        workdir = tmp_path / "work"
        workdir.mkdir()

        outputs = transcode(make_clip(), workdir)

        mp4 = streams(outputs.mp4)
        assert "mp4" in mp4["format"]["format_name"]
        assert mp4["video"]["codec_name"] == "h264"
        assert mp4["video"]["pix_fmt"] == "yuv420p"
        assert (mp4["video"]["width"], mp4["video"]["height"]) == (160, 120)
        assert mp4["audio"]["codec_name"] == "aac"
        webm = streams(outputs.webm)
        assert "webm" in webm["format"]["format_name"]
        assert webm["video"]["codec_name"] == "vp8"
        assert webm["audio"]["codec_name"] == "opus"
        assert outputs.thumbnail.read_bytes().startswith(JPEG_MAGIC)
        assert outputs.mp4.parent == outputs.webm.parent == outputs.thumbnail.parent == workdir

    def test_mp4_is_fast_start(self, make_clip: MakeClip, tmp_path: Path) -> None:
        outputs = transcode(make_clip(), tmp_path)

        data = outputs.mp4.read_bytes()
        # The index (moov) precedes the media (mdat): playback starts before the download ends.
        assert 0 < data.index(b"moov") < data.index(b"mdat")

    def test_odd_dimensions_become_even(self, make_clip: MakeClip, tmp_path: Path) -> None:
        # H.264 refuses odd sizes, so the source is lossless FFV1 in Matroska.
        source = make_clip("odd.mkv", size="161x121", codec_args=("-c:v", "ffv1"))

        outputs = transcode(source, tmp_path)

        for output in (outputs.mp4, outputs.webm):
            video = streams(output)["video"]
            assert (video["width"], video["height"]) == (160, 120)

    def test_video_without_audio_is_transcoded_without_audio(
        self, make_clip: MakeClip, tmp_path: Path
    ) -> None:
        outputs = transcode(make_clip(audio=False), tmp_path)

        assert "audio" not in streams(outputs.mp4)
        assert "audio" not in streams(outputs.webm)
        assert streams(outputs.mp4)["video"]["codec_name"] == "h264"
        assert outputs.thumbnail.read_bytes().startswith(JPEG_MAGIC)

    def test_clip_shorter_than_a_second_gets_a_thumbnail(
        self, make_clip: MakeClip, tmp_path: Path
    ) -> None:
        outputs = transcode(make_clip(duration=0.3), tmp_path)

        assert outputs.thumbnail.stat().st_size > 0
        assert outputs.thumbnail.read_bytes().startswith(JPEG_MAGIC)

    def test_corrupt_input_fails_with_ffmpegs_reason(self, tmp_path: Path) -> None:
        source = tmp_path / "random.mp4"
        source.write_bytes(bytes(range(256)) * 200)

        with pytest.raises(ProcessingError) as raised:
            transcode(source, tmp_path)

        assert raised.value.reason.startswith("making the mp4: ")
        assert "Invalid data found when processing input" in raised.value.reason

    def test_file_without_video_stream_fails(self, tmp_path: Path) -> None:
        source = tmp_path / "tone.wav"
        tone = ["-f", "lavfi", "-i", "sine=duration=1"]
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", *tone, str(source)],
            check=True,
            timeout=30,
        )

        with pytest.raises(ProcessingError, match="making the mp4"):
            transcode(source, tmp_path)


def test_missing_ffmpeg_is_reported(settings: Any, tmp_path: Path) -> None:
    settings.GLEEPOST = {"FFMPEG_BINARY": str(tmp_path / "no-such-ffmpeg")}
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"whatever")

    with pytest.raises(ProcessingError) as raised:
        transcode(source, tmp_path)

    assert raised.value.reason == "making the mp4: ffmpeg not installed"


def test_ffmpeg_that_runs_too_long_is_stopped(settings: Any, tmp_path: Path) -> None:
    slow = tmp_path / "slow-ffmpeg"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    settings.GLEEPOST = {"FFMPEG_BINARY": str(slow), "FFMPEG_TIMEOUT_SECS": 0.5}
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"whatever")

    started = time.monotonic()
    with pytest.raises(ProcessingError) as raised:
        transcode(source, tmp_path)

    assert raised.value.reason == "making the mp4: ffmpeg timed out after 0.5 s"
    assert time.monotonic() - started < 10


def test_ffmpeg_error_output_is_the_reason(settings: Any, tmp_path: Path) -> None:
    failing = tmp_path / "failing-ffmpeg"
    failing.write_text("#!/bin/sh\necho 'noise' >&2\necho 'the real problem' >&2\nexit 3\n")
    failing.chmod(0o755)
    settings.GLEEPOST = {"FFMPEG_BINARY": str(failing)}
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"whatever")

    with pytest.raises(ProcessingError) as raised:
        transcode(source, tmp_path)

    assert raised.value.reason == "making the mp4: noise | the real problem"


def test_ffmpeg_that_writes_nothing_fails(settings: Any, tmp_path: Path) -> None:
    silent = tmp_path / "silent-ffmpeg"
    silent.write_text("#!/bin/sh\nexit 0\n")
    silent.chmod(0o755)
    settings.GLEEPOST = {"FFMPEG_BINARY": str(silent)}
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"whatever")

    with pytest.raises(ProcessingError) as raised:
        transcode(source, tmp_path)

    assert raised.value.reason == "making the mp4: ffmpeg wrote nothing"
