"""The processes a benchmark run starts, pinned to cores, with their CPU time and memory."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on {port} within {timeout}s")


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command's name: [0] is the state, [1] the parent's pid."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (its children, theirs, ...), from one pass over /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])
        except (OSError, IndexError, ValueError):  # gone since the listing
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    below = list(children.get(pid, ()))
    while below:
        child = below.pop()
        found.append(child)
        below.extend(children.get(child, ()))
    return found


class Process:
    """One child process, optionally pinned to a set of cores, logging to a file.

    With ``whole_tree`` its CPU time is that of every process it started too (gunicorn's
    master and workers), those it has already reaped included.
    """

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        cores: set[int] | None = None,
        stdin: int | None = None,
        stdout_pipe: bool = False,
        whole_tree: bool = False,
    ) -> None:
        self.name = name
        self.whole_tree = whole_tree
        self.log_path = Path(tempfile.gettempdir()) / f"gleepost-bench-{name}-{os.getpid()}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115  (open for the process's lifetime)
        self.popen = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdin=stdin,
            stdout=subprocess.PIPE if stdout_pipe else self._log,
            stderr=self._log,
            preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the process (or its whole tree) has used so far."""
        fields = _stat_fields(self.pid)
        ticks = int(fields[11]) + int(fields[12])
        if self.whole_tree:
            # A worker that exited and was reaped counts through its parent's cutime + cstime.
            ticks += int(fields[13]) + int(fields[14])
            for pid in descendants(self.pid):
                try:
                    below = _stat_fields(pid)
                except OSError:  # exited since the listing; counted once reaped
                    continue
                ticks += int(below[11]) + int(below[12])
        return ticks / CLOCK_TICKS

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()


def start_redis(cores: set[int] | None) -> tuple[Process, str]:
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    process = Process("redis", [*args, "--appendonly", "no"], cores=cores)
    wait_for_port(port, process.popen)
    return process, f"redis://127.0.0.1:{port}/0"


def start_daphne(
    name: str,
    env: dict[str, str],
    cores: set[int] | None,
    app: str = "gleepost.asgi:application",
    launcher: str = "gleepost.server",
    extra_args: Sequence[str] = (),
) -> tuple[Process, int]:
    """daphne as ``scripts/serve`` runs it (gleepost.server), on a free port; or, for the
    floor, stock daphne (``launcher="daphne"``) with another application."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        launcher,
        # As the start commands listen (scripts/serve): a backlog for the reconnect storm.
        "-e",
        f"tcp:port={port}:interface=127.0.0.1:backlog=1024",
        "--websocket_timeout",
        "-1",
        "--ping-interval",
        "20",
        "--ping-timeout",
        "30",
        *extra_args,
        app,
    ]
    process = Process(name, args, env={**env, "PYTHONUNBUFFERED": "1"}, cores=cores)
    wait_for_port(port, process.popen)
    return process, port


# gunicorn for one core: threads (gthread) keep HTTP/1.1 connections alive between requests, as
# daphne does and as the load generator's pool expects (a sync worker closes each one), and
# let a request wait on the database or Redis while another runs; two processes, so that a
# worker busy in a long request or a garbage collection does not hold up every other. 8 threads
# in all, as gleepost/handler.py has on PostgreSQL. (Gunicorn's (2 x cores) + 1 is for sync
# workers.)
GUNICORN_WORKER_ARGS = ("--worker-class", "gthread", "--workers", "2", "--threads", "4")


def start_gunicorn(
    name: str,
    env: dict[str, str],
    cores: set[int] | None,
    app: str = "gleepost.wsgi:application",
    worker_args: Sequence[str] = GUNICORN_WORKER_ARGS,
) -> tuple[Process, int]:
    """gunicorn serving Django's WSGI application on a free port, its master and workers
    counted as one process (``whole_tree``); an access line per request, as daphne writes."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--backlog",
        "1024",
        # Within Process.stop's 10 s, so that the master is never killed before its workers.
        "--graceful-timeout",
        "5",
        "--access-logfile",
        "-",
        # gunicorn 26's control socket: one path per user, shared by every gunicorn started.
        "--no-control-socket",
        *worker_args,
        app,
    ]
    process = Process(
        name, args, env={**env, "PYTHONUNBUFFERED": "1"}, cores=cores, whole_tree=True
    )
    wait_for_port(port, process.popen)
    return process, port


def start_reference(redis_url: str, cores: set[int] | None) -> tuple[Process, int]:
    port = free_port()
    args = [sys.executable, "bench/reference/server.py", "--port", str(port), "--redis", redis_url]
    process = Process("reference", args, cores=cores)
    wait_for_port(port, process.popen)
    return process, port


def start_server(
    stack_name: str, env: dict[str, str], redis_url: str, cores: set[int] | None
) -> tuple[Process, int]:
    """One server of a stack that holds websockets: this project's daphne, the floor (stock
    daphne accepting bare ASGI websockets, no Django) or the reference."""
    if stack_name == "gleepost":
        return start_daphne("daphne", env, cores)
    if stack_name == "floor":
        return start_daphne(
            "daphne", env, cores, app="bench.floor.app:application", launcher="daphne"
        )
    return start_reference(redis_url, cores)


class LoadGenerator:
    """The Node load generator (bench/loadgen), driven over its stdin/stdout line protocol."""

    def __init__(
        self, connections: list[dict[str, Any]], cores: set[int] | None, concurrency: int = 50
    ) -> None:
        config = Path(tempfile.mkstemp(prefix="gleepost-bench-loadgen-", suffix=".json")[1])
        settings = {"connections": connections, "connect_concurrency": concurrency}
        config.write_text(json.dumps(settings))
        self.process = Process(
            "loadgen",
            ["node", "bench/loadgen/loadgen.mjs", str(config)],
            cores=cores,
            stdin=subprocess.PIPE,
            stdout_pipe=True,
        )
        self.ready = self._read()
        config.unlink()

    def _read(self) -> dict[str, Any]:
        stdout = self.process.popen.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"load generator exited; see {self.process.log_path}")
        result: dict[str, Any] = json.loads(line)
        return result

    def command(self, text: str) -> dict[str, Any]:
        stdin = self.process.popen.stdin
        assert stdin is not None
        stdin.write(text.encode() + b"\n")
        stdin.flush()
        return self._read()

    def stop(self) -> None:
        if self.process.popen.poll() is None:
            with contextlib.suppress(OSError, RuntimeError, ValueError):
                self.command("quit")
        self.process.stop()
