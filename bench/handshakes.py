"""Handshakes: how fast a server lets clients in when they all connect at once (a deploy, a
network blip), and its CPU per handshake.

Each stack gets a fresh server and ``count`` users who have never connected; the load
generator opens a websocket for each, 50 handshakes in flight, and the server's CPU is read
around it. Then every connection closes and all of them connect again: for this project the
first pass creates each user's stream, the second is the reconnection after a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.population import Member
from bench.processes import LoadGenerator, Process, start_server
from bench.scenarios import Stack

# Before each pass the server must be idle: closing thousands of connections takes it a while,
# and that work would otherwise be counted against the next pass's handshakes.
IDLE_CPU_SHARE = 0.03
IDLE_SAMPLE_SECS = 0.5
IDLE_WAIT_SECS = 60.0
PASSES = ("first connection", "reconnection")


def _open_all(
    server: Process, connections: list[dict[str, Any]], other_cores: set[int]
) -> dict[str, Any]:
    cpu_before = server.cpu_seconds()
    loadgen = LoadGenerator(connections, other_cores)
    cpu = server.cpu_seconds() - cpu_before
    load_cpu = loadgen.process.cpu_seconds()
    ready = loadgen.ready
    loadgen.stop()
    opened = int(ready["open"])
    # From the load generator's first handshake to its last answer (its start-up excluded).
    secs = float(ready["connect_secs"])
    return {
        "connections": len(connections),
        "open": opened,
        "failed": int(ready["failed"]),
        "secs": round(secs, 2),
        "handshakes_per_sec": round(opened / secs),
        "server_cpu_percent": round(100 * cpu / secs),
        "server_cpu_ms_per_handshake": round(1000 * cpu / max(opened, 1), 2),
        "load_gen_cpu_secs": round(load_cpu, 1),  # its start-up included
    }


def wait_until_idle(server: Process) -> None:
    deadline = time.monotonic() + IDLE_WAIT_SECS
    while time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(IDLE_SAMPLE_SECS)
        if server.cpu_seconds() - before <= IDLE_CPU_SHARE * IDLE_SAMPLE_SECS:
            return


def measure_handshakes(
    stack_name: str,
    members: list[Member],
    env: dict[str, str],
    redis_url: str,
    server_cores: set[int],
    other_cores: set[int],
    log: Any,
    profile: Callable[[Process, str], Callable[[], None]] | None = None,
) -> list[dict[str, Any]]:
    """One row per pass. ``members[0]`` warms the server (imports, pools) and is not counted.

    ``profile(server, pass_name)``, when given, starts sampling the server and returns what
    stops it; each pass is sampled on its own.
    """
    server, port = start_server(stack_name, env, redis_url, server_cores)
    stack = Stack(stack_name, [server], [port])
    rows = []
    try:
        LoadGenerator([stack.connection(0, members[0])], other_cores).stop()
        connections = [stack.connection(0, m) for m in members[1:]]
        for name in PASSES:
            wait_until_idle(server)
            stop_profile = profile(server, name) if profile is not None else None
            try:
                measured = _open_all(server, connections, other_cores)
            finally:
                if stop_profile is not None:
                    stop_profile()
            row = {"stack": stack_name, "pass": name, **measured}
            rows.append(row)
            log(row)
    finally:
        server.stop()
    return rows
