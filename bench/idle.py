"""Idle memory: the server's RSS per idle, authenticated connection at several counts."""

from __future__ import annotations

import time
from typing import Any

from bench.population import Member
from bench.processes import LoadGenerator, start_server
from bench.scenarios import Stack

SETTLE_SECS = 3.0


def measure_idle(
    stack_name: str,
    members: list[Member],
    counts: list[int],
    env: dict[str, str],
    redis_url: str,
    server_cores: set[int],
    other_cores: set[int],
    log: Any,
) -> list[dict[str, Any]]:
    """For each count: a fresh server, its RSS with one connection open (the imports, pools and
    caches a first connection warms), then with ``count`` connections of distinct users.
    ``gleepost-sse``: this project's daphne, the connections Server-Sent Events streams."""
    rows = []
    server_name, _, transport = stack_name.partition("-")
    for count in counts:
        server, port = start_server(server_name, env, redis_url, server_cores)
        stack = Stack(server_name, [server], [port], transport=transport or "websocket")
        try:
            first = LoadGenerator([stack.connection(0, members[0])], other_cores)
            time.sleep(SETTLE_SECS)
            rss_one = server.rss_kib()
            first.stop()
            loadgen = LoadGenerator(
                [stack.connection(0, m) for m in members[1 : count + 1]], other_cores
            )
            try:
                time.sleep(SETTLE_SECS)
                rss_all = server.rss_kib()
                opened = int(loadgen.ready["open"])
                row = {
                    "stack": stack_name,
                    "connections": count,
                    "open": opened,
                    "connect_secs": round(float(loadgen.ready["connect_secs"]), 1),
                    "rss_one_kib": rss_one,
                    "rss_all_kib": rss_all,
                    "kib_per_connection": round((rss_all - rss_one) / max(opened, 1), 1),
                }
                rows.append(row)
                log(row)
            finally:
                loadgen.stop()
        finally:
            server.stop()
    return rows
