"""The http-layouts scenario (issue 14, item 1): the server's CPU per REST request in two
layouts, the measurement behind REST in a WSGI server beside daphne in production (deploy/).

- **daphne**: the embedded default, ``python -m gleepost.server`` with ``gleepost.asgi`` (HTTP
  through Django's own ASGIHandler);
- **gunicorn**: gunicorn serving ``gleepost.wsgi`` (processes.GUNICORN_WORKER_ARGS) while a
  daphne as in the first layout holds the websockets; a message's events reach that daphne
  through the Redis channel layer. gunicorn's master and workers are counted together, and the
  daphne's CPU over the same time is reported beside it: their sum compares with the others.

Every server is pinned to the server core; the load generators and Redis share the other. For
each layout: all members connected by websocket, then ``GET /healthz`` and ``POST`` a message
into conversations of 10 participants at 100 requests/s, each after a second of warm-up. The
layouts take turns, ``rounds`` times, so that the machine's drift falls on each alike.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from bench import population, rest
from bench.handshakes import wait_until_idle
from bench.population import Member
from bench.processes import LoadGenerator, Process, start_daphne, start_gunicorn

RATE = 100.0
WARM_UP_SECS = 1.0
PARTICIPANTS = 10
# (name, what it is): the columns of the table, in order; the first is what the others are
# compared with.
LAYOUTS = (
    ("daphne", "daphne + Django's ASGIHandler"),
    ("gunicorn", "gunicorn (WSGI) + daphne for websockets"),
)
HEALTHZ = "GET /healthz"
POST = f"POST a message, {PARTICIPANTS} participants"
OK_STATUSES = {"200", "201"}


def _start_servers(
    layout: str, env: dict[str, str], cores: set[int]
) -> tuple[Process, int, list[Process], int]:
    """The server that answers HTTP and its port, every server started, the websockets' port."""
    websockets, ws_port = start_daphne("daphne", env, cores)
    if layout == "daphne":
        return websockets, ws_port, [websockets], ws_port
    try:
        server, port = start_gunicorn("gunicorn", env, cores)
    except Exception:
        websockets.stop()
        raise
    return server, port, [server, websockets], ws_port


def _requests(
    label: str,
    base: str,
    server: Process,
    duration: float,
    rate: float,
    plans: list[dict[str, Any]],
    also: list[Process],
) -> dict[str, Any]:
    """``rest.cpu_per_request`` of GET /healthz, or of POSTs as ``plans`` say."""
    if label == HEALTHZ:
        return rest.cpu_per_request(
            label, base, server, rate, duration, also=also, path="/healthz", method="GET"
        )
    return rest.cpu_per_request(label, base, server, rate, duration, plans, also=also)


def measure_layout(
    layout: str,
    env: dict[str, str],
    members: list[Member],
    plans: list[dict[str, Any]],
    duration: float,
    rate: float,
    server_cores: set[int],
    other_cores: set[int],
) -> dict[str, Any]:
    """One layout: its servers started, every member connected, each request kind measured."""
    server, port, started, ws_port = _start_servers(layout, env, server_cores)
    base = f"http://127.0.0.1:{port}"
    also = [each for each in started if each is not server]
    connections = [
        {"url": f"ws://127.0.0.1:{ws_port}/api/v1/ws?{m.query()}", "user": m.user_id}
        for m in members
    ]
    loadgen: LoadGenerator | None = None
    try:
        loadgen = LoadGenerator(connections, other_cores)
        for each in started:
            wait_until_idle(each)  # the handshakes' aftermath is not a request's cost
        rows = {}
        for label in (HEALTHZ, POST):
            _requests(label, base, server, WARM_UP_SECS, rate, plans, [])  # warm-up
            rows[label] = _requests(label, base, server, duration, rate, plans, also)
        return {"connect": loadgen.ready, "rows": rows}
    finally:
        if loadgen is not None:
            loadgen.stop()
        for each in reversed(started):
            each.stop()


def measure(
    env: dict[str, str],
    members: list[Member],
    duration: float,
    rounds: int,
    server_cores: set[int],
    other_cores: set[int],
    log: Callable[[str], None],
    rate: float = RATE,
) -> dict[str, Any]:
    """Every layout, ``rounds`` times in turn; the medians' table in ``"table"``."""
    tokens = {m.user_id: m.token for m in members}
    count = max(1, len(members) // PARTICIPANTS)
    made = population.make_conversations(members, min(PARTICIPANTS, len(members)), count)
    plans = [{"conversation": cid, "auth": f"{u[0]}-{tokens[u[0]]}"} for cid, u in made]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in LAYOUTS}
    for round_number in range(1, rounds + 1):
        for name, _ in LAYOUTS:
            result = measure_layout(
                name, env, members, plans, duration, rate, server_cores, other_cores
            )
            runs[name].append(result)
            log(f"round {round_number} {name}: connected {result['connect']}")
            for row in result["rows"].values():
                log(f"round {round_number} {name}: {row}")
    results: dict[str, Any] = {
        "rate": rate,
        "seconds": duration,
        "rounds": rounds,
        "conversations": len(made),
        "layouts": runs,
    }
    results["table"] = table(results)
    return results


def _cpu(row: dict[str, Any]) -> tuple[int, int]:
    """µs per request of the server that answered it, and of the others (daphne's deliveries)."""
    return row["server_cpu_us_per_request"], sum(row["also_cpu_us_per_request"].values())


def _median(runs: list[dict[str, Any]], label: str, part: Callable[[int, int], int]) -> float:
    return statistics.median(part(*_cpu(run["rows"][label])) for run in runs)


def _both(http: int, websockets: int) -> int:
    return http + websockets


def _with_ratio(value: float, base: float) -> str:
    return f"{value:.0f} ({value / base:.2f})" if base else f"{value:.0f}"


def table(results: dict[str, Any]) -> str:
    """Markdown: µs of server CPU per request, median of the rounds, and each layout's ratio to
    the first; a request answered with anything but 200/201 is flagged."""
    runs = results["layouts"]
    base_name = LAYOUTS[0][0]
    header = [
        "request",
        LAYOUTS[0][1],
        "gunicorn alone",
        "its daphne (websockets)",
        LAYOUTS[1][1],
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label in (HEALTHZ, POST):
        base = _median(runs[base_name], label, _both)
        cells = [
            f"{base:.0f}",
            _with_ratio(_median(runs["gunicorn"], label, lambda http, ws: http), base),
            f"{_median(runs['gunicorn'], label, lambda http, ws: ws):.0f}",
            _with_ratio(_median(runs["gunicorn"], label, _both), base),
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    bad = sorted(
        f"{name} round {n}: {label} {run['rows'][label]['statuses']}"
        for name, layout_runs in runs.items()
        for n, run in enumerate(layout_runs, 1)
        for label in (HEALTHZ, POST)
        if set(run["rows"][label]["statuses"]) - OK_STATUSES
    )
    notes = [
        "",
        f"µs of server CPU per request at {results['rate']:.0f} requests/s, the median of "
        f"{results['rounds']} round(s) of {results['seconds']:g} s; in brackets, the ratio to "
        f"{LAYOUTS[0][1]}. The last column is gunicorn's and its daphne's together.",
    ]
    if bad:
        notes.append("Answers other than 200/201: " + "; ".join(bad))
    return "\n".join(lines + notes) + "\n"
