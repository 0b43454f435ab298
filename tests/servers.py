"""Real servers for end-to-end tests: daphne processes on free ports, over real TCP."""

from __future__ import annotations

import itertools
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


# The daphne process behind each base URL that ``daphne()`` is serving.
processes: dict[str, subprocess.Popen[bytes]] = {}


def rss_kib(pid: int) -> int:
    """Resident memory of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


# Where free_port() looks: below Linux's ephemeral range (32768-60999 by default), so that no
# client connection's own port is ever the one a server is about to listen on, and in a block
# of its own for each pytest-xdist worker (gw0, gw1, ...): a port is free when picked, but its
# server only listens a second or two later, and the kernel's own pick (bind to port 0) could
# hand the other worker the same port meanwhile.
PORT_BLOCK_START = 20_000
PORT_BLOCK_SIZE = 2_000
PORT_BLOCKS = 6
_next_ports: Iterator[int] | None = None


def _port_block() -> Iterator[int]:
    """This process's ports, every one in turn, from a random place: another test run on the
    same machine, whose workers have the same blocks, rarely picks near it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = PORT_BLOCK_START + int(worker or 0) % PORT_BLOCKS * PORT_BLOCK_SIZE
    start = random.randrange(PORT_BLOCK_SIZE)
    return itertools.cycle(
        [*range(first + start, first + PORT_BLOCK_SIZE), *range(first, first + start)]
    )


def free_port() -> int:
    """A port on 127.0.0.1 that nothing is bound to."""
    global _next_ports
    if _next_ports is None:
        _next_ports = _port_block()
    for _ in range(PORT_BLOCK_SIZE):
        port = next(_next_ports)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in this worker's block of {PORT_BLOCK_SIZE}")


def test_database_url() -> str:
    """A URL of the database the test run is using (the test database, not the configured one)."""
    params: dict[str, Any] = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    if connection.vendor == "postgresql":
        user = params.get("USER") or "postgres"
        password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
        host = params.get("HOST") or "127.0.0.1"
        port = params.get("PORT") or 5432
        return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"
    raise RuntimeError(f"no end-to-end support for {connection.vendor}")


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{process.args[0]} did not listen on {port} within {timeout}s")


def run_command(*args: str, extra_env: dict[str, str] | None = None) -> str:
    """Run ``manage.py`` in its own process on the test database; returns its output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": test_database_url(), **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# How daphne is started: the service's launcher (scripts/serve, the Procfile, the systemd units),
# and daphne's own console script as the Channels docs start a project.
GLEEPOST_SERVER = (sys.executable, "-m", "gleepost.server")
# The listen backlog every start command gives daphne in its endpoint string.
LISTEN_BACKLOG = 1024
# Login and register limits off in every daphne a test starts, unless the test sets them: its
# clients are all 127.0.0.1, and with Redis every daphne of a test run counts in one place, so
# one test's logins got another's refused with 429 (the Schemathesis run made 59 in a minute;
# the access-log tests' wrong passwords add up across daphnes too). In-process tests count in
# a namespace of their own (tests/conftest.py), where the limits are tested
# (tests/accounts/test_throttling.py).
UNLIMITED_LOGINS = {
    f"GLEEPOST_{name}": "0"
    for name in (
        "LOGIN_ATTEMPTS_PER_IP",
        "LOGIN_FAILURES_PER_ACCOUNT_AND_IP",
        "LOGIN_FAILURES_PER_ACCOUNT",
        "REGISTER_ATTEMPTS_PER_IP",
    )
}
PLAIN_DAPHNE = (str(Path(sys.executable).parent / "daphne"),)
PLAIN_DAPHNE_MODULE = (sys.executable, "-m", "daphne")


def daphne_log_path(port: int) -> Path:
    """Where ``daphne()`` writes the output (access log included) of the process on ``port``."""
    return Path(tempfile.gettempdir()) / f"gleepost-daphne-{port}.log"


def server_env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the tests' servers run in: the test database, production's switches."""
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        **UNLIMITED_LOGINS,
        **(extra_env or {}),
    }


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def logged_server(
    command: list[str], port: int, log_path: Path, env: dict[str, str], stop_timeout: float
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` run from the repository, its output in ``log_path``, until it listens on
    ``port``; stopped (``stop_process``) when the block ends."""
    log = open(log_path, "wb")  # noqa: SIM115  (kept open for the process's lifetime)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process)
        yield process
    finally:
        stop_process(process, stop_timeout)
        log.close()


@contextmanager
def daphne(
    extra_env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
    port: int | None = None,
    program: tuple[str, ...] = GLEEPOST_SERVER,
    backlog: int = LISTEN_BACKLOG,
) -> Iterator[str]:
    """Run daphne as ``scripts/serve`` does, on the test database; yields its base URL.

    ``port``: a port to listen on (a free one by default), e.g. to start a new process where a
    stopped one was, for clients that reconnect to the same address.
    ``program``: what runs daphne, e.g. ``PLAIN_DAPHNE`` for daphne as its own docs start it."""
    port = port or free_port()
    # As production runs it (README): connections reused, not opened per query.
    env = server_env({"DATABASE_CONN_MAX_AGE": "60", **(extra_env or {})})
    command = [
        *program,
        # The listener as the start commands give it (tests/deploy/test_start_commands.py).
        "-e",
        f"tcp:port={port}:interface=127.0.0.1:backlog={backlog}",
        "--websocket_timeout",
        "-1",
        *extra_args,
        "gleepost.asgi:application",
    ]
    base = f"http://127.0.0.1:{port}"
    with logged_server(command, port, daphne_log_path(port), env, stop_timeout=10) as process:
        processes[base] = process
        try:
            yield base
        finally:
            processes.pop(base, None)


def gunicorn_log_path(port: int) -> Path:
    """Where ``gunicorn()`` writes the output (access log included) of the process on ``port``."""
    return Path(tempfile.gettempdir()) / f"gleepost-gunicorn-{port}.log"


@contextmanager
def gunicorn(
    args: tuple[str, ...], extra_env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[str]:
    """Run ``python -m gunicorn`` with ``args`` (the production unit's) on the test database,
    bound to ``port`` (a free one by default); yields its base URL."""
    port = port or free_port()
    command = [sys.executable, "-m", "gunicorn", *args, "--bind", f"127.0.0.1:{port}"]
    # gunicorn finishes the requests under way for up to its graceful_timeout (30 s).
    with logged_server(
        command, port, gunicorn_log_path(port), server_env(extra_env), stop_timeout=40
    ):
        yield f"http://127.0.0.1:{port}"


class RedisServer:
    """A private redis-server on a spare port that a test may stop and start again.

    ``extra_args``: more redis-server options, e.g. ``("--replicaof", "127.0.0.1", "6379")``."""

    def __init__(self, *extra_args: str) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.extra_args = extra_args
        # Its working directory: a replica writes the master's data there (dump.rdb).
        self.directory = tempfile.TemporaryDirectory(prefix="gleepost-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory.name,
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def redis_server(*extra_args: str) -> Iterator[RedisServer]:
    server = RedisServer(*extra_args)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.directory.cleanup()


@contextmanager
def redis_sentinel(master: RedisServer, master_name: str) -> Iterator[str]:
    """A Redis Sentinel on its own monitoring ``master`` as ``master_name``; yields its
    ``host:port``. Quorum 1 and 0.5 s without an answer: it fails over at once."""
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        # Sentinel rewrites its configuration file as it learns: it must be writable.
        config = Path(directory) / "sentinel.conf"
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
            f"sentinel monitor {master_name} 127.0.0.1 {master.port} 1\n"
            f"sentinel down-after-milliseconds {master_name} 500\n"
            f"sentinel failover-timeout {master_name} 5000\n"
        )
        process = subprocess.Popen(
            ["redis-server", str(config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, process)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)
