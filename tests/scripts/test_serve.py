"""``./scripts/serve`` as a user runs it: the URLs it prints answer, its processes have its address
as the public one, and SIGTERM, SIGINT or SIGHUP to it (not to its process group) stops every
process it started and frees the port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers import ROOT, free_port

pytestmark = pytest.mark.slow

SERVE = ROOT / "scripts" / "serve"
# Set-up, migrations and collectstatic on a busy machine, then daphne's start.
START_TIMEOUT_SECS = 180
# daphne's drain (GLEEPOST_SHUTDOWN_GRACE_SECS, 5 s at most) and the helpers' pass under way.
STOP_TIMEOUT_SECS = 60

HELPERS = ("process_videos", "end_expired_conversations", "prune_event_history")


@dataclass(frozen=True)
class Proc:
    """A process, told apart from a later one with the same pid by its start time."""

    pid: int
    start_ticks: int
    command: str


def _stat(pid: int) -> tuple[str, int, int] | None:
    """State, parent pid and start time of a process; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name, in parentheses, may hold spaces: the fields start after its last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[19])


def descendants(root: int) -> set[Proc]:
    """Every process below ``root``, children of children included."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[1]
    found: set[Proc] = set()
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and (stat := _stat(pid)) is not None:
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                except (FileNotFoundError, ProcessLookupError):
                    continue
                found.add(Proc(pid, stat[2], command.decode(errors="replace")))
                frontier.append(pid)
    return found


def alive(proc: Proc) -> bool:
    stat = _stat(proc.pid)
    return stat is not None and stat[2] == proc.start_ticks and stat[0] != "Z"


def answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # follows redirects
            return int(response.status)
    except OSError:
        return None


def port_is_free(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        pass
    else:
        return False
    with socket.socket() as probe:
        # Not refused: nothing listens. Bound: nothing holds the port (connections of the
        # stopped server in TIME_WAIT do not count, as for any server started there again).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def serve_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Database, static files and media of the runs here, apart from the checkout's own
    ``db.sqlite3``; one for all of them, so that only the first run migrates."""
    directory = tmp_path_factory.mktemp("serve")
    # Set-up may neither install Debian packages nor reach a package index: the virtualenv
    # exists (scripts/test made it), and ffmpeg is there or the video tests say so.
    stubs = directory / "bin"
    stubs.mkdir()
    apt_get = stubs / "apt-get"
    apt_get.write_text('#!/bin/sh\necho "apt-get called: $*" >&2\nexit 1\n')
    apt_get.chmod(0o755)
    return directory


@dataclass
class Serve:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    # Every process of it seen so far, to clean up after a failure: once serve has exited, the
    # ones it left behind are no longer its descendants.
    seen: set[Proc] = field(default_factory=set)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def serve(serve_dir: Path) -> Iterator[Serve]:
    port = free_port()
    env = {
        # Its own address is the public one unless GLEEPOST_PUBLIC_URL says otherwise.
        **{name: value for name, value in os.environ.items() if name != "GLEEPOST_PUBLIC_URL"},
        "PATH": f"{serve_dir / 'bin'}:{os.environ['PATH']}",
        "PIP_NO_INDEX": "1",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{serve_dir / 'db.sqlite3'}",
        "STATIC_ROOT": str(serve_dir / "static"),
        "MEDIA_ROOT": str(serve_dir / "media"),
        "SECRET_KEY": "test-serve-not-secret",
        "PYTHONUNBUFFERED": "1",
    }
    log = serve_dir / f"serve-{port}.log"
    with log.open("wb") as out:
        # A session of its own, and SIGINT and SIGHUP as they are by default, as a terminal
        # gives the command it runs: a test run started in the background (``nohup``, ``&``)
        # passes them on ignored, and bash cannot trap a signal ignored when it started.
        process = subprocess.Popen(
            ["env", "--default-signal=INT,HUP", str(SERVE)], cwd=ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    running = Serve(process, port, log)
    try:
        yield running
    finally:
        running.seen |= descendants(process.pid)
        if process.poll() is None:
            process.kill()
            process.wait()
        for proc in running.seen:
            if alive(proc):
                os.kill(proc.pid, signal.SIGKILL)


def wait_until_serving(serve: Serve) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECS
    while answers(f"http://127.0.0.1:{serve.port}/healthz") != 200:
        assert serve.process.poll() is None, serve.output()
        assert time.monotonic() < deadline, serve.output()
        time.sleep(0.2)


def started_processes(serve: Serve) -> set[Proc]:
    """The processes of serve, once all four are running."""
    deadline = time.monotonic() + START_TIMEOUT_SECS
    while True:
        found = descendants(serve.process.pid)
        serve.seen |= found
        commands = " | ".join(proc.command for proc in found)
        if "gleepost.server" in commands and all(helper in commands for helper in HELPERS):
            return found
        assert time.monotonic() < deadline, commands
        time.sleep(0.2)


def printed_urls(serve: Serve) -> list[str]:
    banner = next(
        line for line in serve.output().splitlines() if line.startswith("Gleepost Realtime on ")
    )
    return re.findall(r"http://[^\s,()]+", banner)


def check_printed_urls_answer(serve: Serve) -> None:
    urls = printed_urls(serve)
    base = f"http://127.0.0.1:{serve.port}"
    assert f"{base}/" in urls
    assert f"{base}/admin/" in urls
    for url in urls:
        assert answers(url) == 200, url


def environment_of(proc: Proc) -> dict[str, str]:
    entries = Path(f"/proc/{proc.pid}/environ").read_bytes().decode(errors="replace").split("\0")
    pairs = (entry.partition("=") for entry in entries if "=" in entry)
    return {name: value for name, _, value in pairs}


def check_public_url(serve: Serve, started: set[Proc]) -> None:
    """daphne and the video worker (which builds video-ready with no request at hand) have
    serve's own address as the public one their video URLs are absolute on."""
    given = {
        proc.command: environment_of(proc).get("GLEEPOST_PUBLIC_URL")
        for proc in started
        if "gleepost.server" in proc.command or "process_videos" in proc.command
    }
    assert len(given) == 2, given
    assert set(given.values()) == {f"http://127.0.0.1:{serve.port}"}, given


def check_stopped(serve: Serve, started: set[Proc]) -> None:
    """Serve exited 0, with every process it started, and nothing listens on its port; daphne
    drained (gleepost.shutdown) and was told once: a second signal would have cut it short."""
    status = serve.process.wait(timeout=STOP_TIMEOUT_SECS)
    output = serve.output()
    assert [proc.command for proc in started if alive(proc)] == [], output
    assert port_is_free(serve.port)
    assert status == 0, output
    assert output.count("SIGTERM: shutting down") == 1, output
    assert "all connections closed" in output
    assert "again: closing every connection now" not in output


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name
)
def test_a_signal_to_serve_stops_every_process_it_started(
    serve: Serve, signum: signal.Signals
) -> None:
    wait_until_serving(serve)
    started = started_processes(serve)
    check_printed_urls_answer(serve)
    check_public_url(serve, started)

    serve.process.send_signal(signum)  # to serve alone, as `kill <pid>` does

    check_stopped(serve, started)


def test_ctrl_c_to_the_process_group_reaches_daphne_once(serve: Serve) -> None:
    """A terminal's Ctrl-C signals its whole foreground group, and daphne takes a second signal
    as "cut off now": serve's processes run in groups of their own and hear it from serve."""
    wait_until_serving(serve)
    started = started_processes(serve)

    os.killpg(serve.process.pid, signal.SIGINT)

    check_stopped(serve, started)
