"""ffmpeg transcoding of one upload into what a ready video serves (rest-api.md, Videos).

An mp4 (H.264/AAC) plays nearly everywhere, a webm (VP8/Opus) covers browsers without H.264, and
a jpg thumbnail shows before playback. Encoder settings favour speed over size: a phone clip
must be ready in seconds, not minutes.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gleepost.conf import gp_settings

# ffmpeg only reports errors, and never waits for a keyboard that is not there.
COMMON_ARGS = ["-nostdin", "-y", "-hide_banner", "-loglevel", "error"]
# H.264 in yuv420p needs even dimensions; odd ones are cut down by one pixel.
EVEN_DIMENSIONS = "scale=trunc(iw/2)*2:trunc(ih/2)*2"
# The first frame is often black; a second in is usually the picture people expect.
THUMBNAIL_AT_SECS = 1.0
MAX_REASON_LINES = 5
MAX_REASON_CHARS = 500

MP4_ARGS = [
    *["-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn"],
    *["-vf", EVEN_DIMENSIONS, "-pix_fmt", "yuv420p"],
    *["-c:v", "libx264", "-preset", "veryfast", "-crf", "23"],
    *["-c:a", "aac", "-b:a", "128k", "-ac", "2"],
    *["-movflags", "+faststart"],
]
WEBM_ARGS = [
    *["-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn"],
    *["-vf", EVEN_DIMENSIONS, "-pix_fmt", "yuv420p"],
    # libvpx's good/best deadlines take minutes for a short clip; realtime takes seconds.
    *["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-crf", "10", "-b:v", "1M"],
    *["-c:a", "libopus", "-b:a", "96k", "-ac", "2"],
]
THUMBNAIL_ARGS = ["-map", "0:v:0", "-frames:v", "1", "-q:v", "3", "-update", "1"]


class ProcessingError(Exception):
    """ffmpeg could not make an output; ``reason`` is readable by an admin."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outputs:
    mp4: Path
    webm: Path
    thumbnail: Path


def transcode(source_path: str | os.PathLike[str], workdir: str | os.PathLike[str]) -> Outputs:
    """Make the mp4, webm and jpg thumbnail of ``source_path`` inside ``workdir``."""
    source = Path(source_path)
    folder = Path(workdir)
    outputs = Outputs(folder / "video.mp4", folder / "video.webm", folder / "thumbnail.jpg")
    # FFMPEG_TIMEOUT_SECS bounds the whole video, not each of the three runs.
    deadline = time.monotonic() + gp_settings.FFMPEG_TIMEOUT_SECS
    _make("mp4", _input_args(source), MP4_ARGS, outputs.mp4, deadline)
    _make("webm", _input_args(source), WEBM_ARGS, outputs.webm, deadline)
    _make_thumbnail(source, outputs.thumbnail, deadline)
    return outputs


def _make_thumbnail(source: Path, output: Path, deadline: float) -> None:
    # A clip shorter than the seek point yields no frame at all; its first frame will do.
    seek = ["-ss", str(THUMBNAIL_AT_SECS)]
    _run_ffmpeg([*seek, *_input_args(source), *THUMBNAIL_ARGS, _output_arg(output)], deadline)
    if not _has_content(output):
        _make("thumbnail", _input_args(source), THUMBNAIL_ARGS, output, deadline)


def _make(what: str, inputs: list[str], args: list[str], output: Path, deadline: float) -> None:
    try:
        _run_ffmpeg([*inputs, *args, _output_arg(output)], deadline)
    except ProcessingError as error:
        raise ProcessingError(f"making the {what}: {error.reason}") from error
    if not _has_content(output):
        raise ProcessingError(f"making the {what}: ffmpeg wrote nothing")


def _input_args(source: Path) -> list[str]:
    # "file:" stops a crafted name from selecting another protocol; the whitelist also holds for
    # files an input refers to (a playlist cannot make the worker fetch URLs).
    return ["-protocol_whitelist", "file", "-i", f"file:{source.resolve()}"]


def _output_arg(output: Path) -> str:
    return f"file:{output.resolve()}"


def _run_ffmpeg(args: list[str], deadline: float) -> None:
    """Run ffmpeg with ``args``; any failure becomes a ``ProcessingError``."""
    timeout_secs = gp_settings.FFMPEG_TIMEOUT_SECS
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ProcessingError(f"ffmpeg timed out after {timeout_secs} s")
    try:
        completed = subprocess.run(
            [gp_settings.FFMPEG_BINARY, *COMMON_ARGS, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=remaining,
            check=False,
            # Ctrl-C in the worker's terminal asks the worker to stop after this video; it must
            # not kill ffmpeg under it and fail the video.
            start_new_session=True,
        )
    except FileNotFoundError as error:
        raise ProcessingError("ffmpeg not installed") from error
    except subprocess.TimeoutExpired as error:
        raise ProcessingError(f"ffmpeg timed out after {timeout_secs} s") from error
    except OSError as error:
        raise ProcessingError(f"ffmpeg could not be started: {error}") from error
    if completed.returncode != 0:
        tail = _tail(completed.stderr)
        raise ProcessingError(tail or f"ffmpeg exited with status {completed.returncode}")


def _tail(stderr: bytes) -> str:
    """The last lines ffmpeg wrote, which say what went wrong."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    text = " | ".join([line for line in lines if line][-MAX_REASON_LINES:])
    return text if len(text) <= MAX_REASON_CHARS else "…" + text[-(MAX_REASON_CHARS - 1) :]


def _has_content(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0
