"""The performance benchmark: one command, everything it needs started and stopped by it.

    ./bench/run [--scenarios fanout,broadcast] [--users 1000] [--duration 5] [--quick]
                [--redis-url redis://...] [--database-url postgres://...]

Starts Redis on a spare port (unless --redis-url), prepares the database (a temporary SQLite
file unless --database-url or DATABASE_URL), daphne as ``scripts/serve`` runs it, the reference
server (``bench/reference/server.py``) and the Node load generator (``bench/loadgen``); pins the
server to core 0 and everything else to core 1; sweeps each scenario's rate; writes
``bench/results/<date>.md`` and ``.json``. See the README's "Performance" section.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.processes import (
    ROOT,
    LoadGenerator,
    Process,
    start_daphne,
    start_redis,
    start_reference,
)
from bench.rest import RestStep
from bench.scenarios import Stack, Step, sweep

SERVER_CORES = {0}
OTHER_CORES = {1}
FANOUT_RATES = [500.0, 1000, 2000, 4000, 6000, 8000, 12000, 16000, 24000, 32000]
BROADCAST_RATES = [1.0, 10, 20, 50, 100, 160, 250, 400]
REST_RATES = [25.0, 50, 100, 200, 300, 400, 600]
REST_SIZES = (2, 10, 50)
QUICK_RATES = [50.0, 100]


def log_step(step: Step) -> None:
    print(
        f"  {step.stack:<9} {step.scenario:<20} rate {step.rate:>7.0f}/s "
        f"(publisher {step.publisher_rate:>7.0f}/s): delivered {step.delivered_per_sec:>9.0f}/s "
        f"p50/p95/p99 {step.p50_ms:.1f}/{step.p95_ms:.1f}/{step.p99_ms:.1f} ms "
        f"(first/last copy {step.first_copy_p50_ms:.1f}/{step.last_copy_p50_ms:.1f}) "
        f"lost {step.lost} closed {step.closed} cpu {step.cpu_percent} "
        f"{'ok' if step.passed else 'FAIL'}",
        flush=True,
    )


def gleepost_env(redis_url: str, database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": f"gpbench{os.getpid()}",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_CONN_MAX_AGE": "60",
        "DJANGO_SETTINGS_MODULE": "gleepost.settings",
    }


def run_scenario(
    name: str,
    target: str,
    members: list[Any],
    post_id: int,
    rates: list[float],
    args: argparse.Namespace,
    others: list[Process],
    redis_url: str,
    env: dict[str, str],
) -> dict[str, Any]:
    """The sweep on this project's daphne, then on the reference server (scaleout: on one
    daphne, then on two, the clients split between them)."""
    results: dict[str, Any] = {}
    # (label, stack, daphne processes). The reference has no outbox: its side of fanout-live
    # is its fanout.
    plans = [("gleepost", "gleepost", 1), ("reference", "reference", 1)]
    if name == "fanout-live":
        plans = plans[:1]
    elif name == "fanout-sse":  # the live path over each transport of this project
        plans = [("websocket", "gleepost", 1), ("sse", "gleepost", 1)]
    elif name == "scaleout":
        plans = [("one daphne", "gleepost", 1), ("two daphnes", "gleepost", 2)]
    for label, stack_name, count in plans:
        if stack_name == "gleepost":
            # With two, each has a core; Redis, publisher and load generator share core 1.
            started = [
                start_daphne(f"daphne{n or ''}", env, {n % 2} if count > 1 else SERVER_CORES)
                for n in range(count)
            ]
        else:
            started = [start_reference(redis_url, SERVER_CORES)]
        servers = [server for server, _ in started]
        server = servers[0]
        stack = Stack(
            stack_name, servers, [port for _, port in started], env=env, redis_url=redis_url
        )
        stack.label = label
        if name in ("fanout-live", "fanout-sse", "scaleout") and stack_name == "gleepost":
            stack.publisher_args = ("--live-only",)
        if label == "sse":
            stack.transport = "sse"
        connections = []
        for index, member in enumerate(members):
            connection = stack.connection(index, member)
            if target == "post":
                connection["frames"] = [json.dumps({"action": "SUBSCRIBE", "posts": [post_id]})]
                connection["await_reply"] = True
            connections.append(connection)
        loadgen = LoadGenerator(connections, OTHER_CORES)
        profiler = None
        if args.profile and stack_name == "gleepost":
            profiler = start_profiler(server, Path(args.profile) / f"{name}.txt")
        try:
            print(f"{name} on {label}: {loadgen.ready}", flush=True)
            if target == "post":
                ids, copies = [post_id], {post_id: int(loadgen.ready["open"])}
            else:
                ids, copies = [m.user_id for m in members], {m.user_id: 1 for m in members}
            steps, best = sweep(
                stack, name, loadgen, others, target, ids, copies, rates, args.duration, log_step
            )
            results[label] = {
                "connect": loadgen.ready,
                "steps": [s.as_dict() for s in steps],
                "best": best.as_dict() if best else None,
            }
        finally:
            if profiler is not None:
                stop_profiler(profiler)
            loadgen.stop()
            for each in servers:
                each.stop()
    return results


def log_rest_step(step: RestStep) -> None:
    print(
        f"  rest size {step.size:>2} rate {step.rate:>5.0f}/s (sent {step.request_rate:>5.0f}/s): "
        f"created {step.created} failed {step.failed or 0} http p50/p99 "
        f"{step.http_p50_ms:.1f}/{step.http_p99_ms:.1f} ms; last receipt p50/p95/p99 "
        f"{step.last_p50_ms:.1f}/{step.last_p95_ms:.1f}/{step.last_p99_ms:.1f} ms "
        f"lost {step.lost} unmatched {step.unmatched} cpu {step.cpu_percent} "
        f"{'ok' if step.passed else 'FAIL'}",
        flush=True,
    )


def run_rest(
    members: list[Any],
    rates: list[float],
    args: argparse.Namespace,
    others: list[Process],
    env: dict[str, str],
) -> dict[str, Any]:
    """Scenario 3 on this project's daphne (the reference has no REST API): every member
    connected, messages POSTed into conversations of each size in turn."""
    from bench import population, rest

    tokens = {m.user_id: m.token for m in members}
    conversations = {
        size: population.make_conversations(members, size, max(1, len(members) // size))
        for size in REST_SIZES
        if size <= len(members)
    }
    floor = measure_http_floor(env, members, tokens, conversations, args.duration)
    server, port = start_daphne("daphne", env, SERVER_CORES)
    connections = [
        {"url": f"ws://127.0.0.1:{port}/api/v1/ws?{m.query()}", "user": m.user_id} for m in members
    ]
    loadgen = LoadGenerator(connections, OTHER_CORES)
    results: dict[str, Any] = {"connect": loadgen.ready, "floor": floor, "sizes": {}}
    profiler = start_profiler(server, Path(args.profile) / "rest.txt") if args.profile else None
    try:
        print(f"rest on gleepost: {loadgen.ready}", flush=True)
        watched = [server, loadgen.process, *others]
        for size, made in conversations.items():
            steps, best = rest.sweep(
                f"http://127.0.0.1:{port}",
                loadgen,
                watched,
                made,
                tokens,
                rates,
                args.duration,
                log_rest_step,
            )
            results["sizes"][str(size)] = {
                "conversations": len(made),
                "steps": [s.as_dict() for s in steps],
                "best": best.as_dict() if best else None,
            }
    finally:
        if profiler is not None:
            stop_profiler(profiler)
        loadgen.stop()
        server.stop()
    return results


FLOOR_RATE = 100.0


def measure_http_floor(
    env: dict[str, str],
    members: list[Any],
    tokens: dict[int, str],
    conversations: dict[int, list[Any]],
    duration: float,
) -> list[dict[str, Any]]:
    """Server CPU per request at 100 requests/s, from the bottom up: stock daphne answering a
    bare ASGI app, this project's daphne answering GET /healthz (Django, no database), then
    POST messages into conversations of each size, every participant connected."""
    from bench import rest

    rows = []
    bare, port = start_daphne(
        "daphne", env, SERVER_CORES, app="bench.floor.app:application", launcher="daphne"
    )
    try:
        rows.append(
            rest.cpu_per_request(
                "stock daphne, bare ASGI app",
                f"http://127.0.0.1:{port}",
                bare,
                FLOOR_RATE,
                duration,
                path="/",
                method="POST",
            )
        )
    finally:
        bare.stop()
    server, port = start_daphne("daphne", env, SERVER_CORES)
    base = f"http://127.0.0.1:{port}"
    connections = [
        {"url": f"ws://127.0.0.1:{port}/api/v1/ws?{m.query()}", "user": m.user_id} for m in members
    ]
    loadgen = LoadGenerator(connections, OTHER_CORES)
    try:
        rows.append(
            rest.cpu_per_request(
                "GET /healthz (Django, no database)",
                base,
                server,
                FLOOR_RATE,
                duration,
                path="/healthz",
                method="GET",
            )
        )
        for size, made in conversations.items():
            plans = [{"conversation": cid, "auth": f"{u[0]}-{tokens[u[0]]}"} for cid, u in made]
            rest.cpu_per_request(f"warm-up {size}", base, server, FLOOR_RATE, 1.0, plans)
            rows.append(
                rest.cpu_per_request(
                    f"POST a message, {size} participants",
                    base,
                    server,
                    FLOOR_RATE,
                    duration,
                    plans,
                )
            )
    finally:
        loadgen.stop()
        server.stop()
    for row in rows:
        print(f"  http floor {row}", flush=True)
    return rows


def start_profiler(server: Process, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling daphne until stopped; collapsed stacks (``-f raw``) for bench/profile.py."""
    out.parent.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [
            str(py_spy),
            "record",
            "--nonblocking",
            "-p",
            str(server.pid),
            "-f",
            "raw",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.sched_setaffinity(0, OTHER_CORES),
    )


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    profiler.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
    profiler.wait(timeout=60)


def handshake_profiler(folder: Path) -> Callable[[Process, str], Callable[[], None]]:
    """Profiles one handshakes pass each: ``handshakes-first-connection.txt``, ..."""

    def profile(server: Process, pass_name: str) -> Callable[[], None]:
        profiler = start_profiler(server, folder / f"handshakes-{pass_name.replace(' ', '-')}.txt")
        return lambda: stop_profiler(profiler)

    return profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios", default="fanout,fanout-live,broadcast,rest,publish,idle,handshakes"
    )
    parser.add_argument("--idle-counts", default="1000,5000,10000")
    parser.add_argument(
        "--handshakes", type=int, default=5000, help="connections opened at once (handshakes)"
    )
    parser.add_argument(
        "--layout-rounds", type=int, default=3, help="turns of every layout (http-layouts)"
    )
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per step")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few users and rates")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--out-dir", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--profile", default="", help="a folder for py-spy profiles of daphne")
    parser.add_argument("--rates", default="", help="comma-separated rates instead of the sweep's")
    parser.add_argument("--tag", default="", help="added to the results' file names")
    args = parser.parse_args()
    if args.quick:
        args.users, args.duration = min(args.users, 50), min(args.duration, 2.0)
        args.idle_counts = "50,100"
        args.handshakes = min(args.handshakes, 100)
        args.layout_rounds = 1

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    started: list[Process] = []
    redis_url = args.redis_url
    redis: Process | None = None
    try:
        if not redis_url:
            redis, redis_url = start_redis(OTHER_CORES)
            started.append(redis)
        database_url = args.database_url
        if not database_url:
            database_url = f"sqlite:///{tempfile.mkdtemp(prefix='gleepost-bench-')}/bench.sqlite3"
        env = gleepost_env(redis_url, database_url)
        os.environ.update(env)

        import django

        django.setup()
        from bench import population

        population.migrate()
        tag = f"b{os.getpid()}u"
        members = population.make_members(args.users, tag)
        post_id = population.make_post(members, tag)
        handshake_count = args.handshakes
        idle_members: list[Any] = []
        if "idle" in args.scenarios.split(","):
            most = max(int(c) for c in args.idle_counts.split(","))
            idle_members = members + population.make_members(most + 1 - len(members), f"{tag}i")

        scenarios: dict[str, tuple[str, list[float]]] = {
            "fanout": ("user", QUICK_RATES if args.quick else FANOUT_RATES),
            "fanout-live": ("user", QUICK_RATES if args.quick else FANOUT_RATES),
            "fanout-sse": ("user", QUICK_RATES if args.quick else FANOUT_RATES),
            "scaleout": ("user", QUICK_RATES if args.quick else FANOUT_RATES),
            "broadcast": ("post", QUICK_RATES[:1] if args.quick else BROADCAST_RATES),
        }
        results: dict[str, Any] = {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
            "users": args.users,
            "step_seconds": args.duration,
            "database": database_url.split(":", 1)[0],
            "scenarios": {},
        }
        for name in args.scenarios.split(","):
            if name == "idle":
                from bench.idle import measure_idle

                counts = [int(c) for c in args.idle_counts.split(",")]
                results["scenarios"]["idle"] = {
                    stack: measure_idle(
                        stack,
                        idle_members,
                        counts,
                        env,
                        redis_url,
                        SERVER_CORES,
                        OTHER_CORES,
                        lambda row: print(f"  idle {row}", flush=True),
                    )
                    for stack in ("gleepost", "gleepost-sse", "floor", "reference")
                }
                continue
            if name == "handshakes":
                from bench.handshakes import measure_handshakes

                results["scenarios"]["handshakes"] = {
                    stack: measure_handshakes(
                        stack,
                        # Users who have never connected, for each stack.
                        population.make_members(handshake_count + 1, f"{tag}h{stack[0]}"),
                        env,
                        redis_url,
                        SERVER_CORES,
                        OTHER_CORES,
                        lambda row: print(f"  handshakes {row}", flush=True),
                        (
                            handshake_profiler(Path(args.profile))
                            if args.profile and stack == "gleepost"
                            else None
                        ),
                    )
                    for stack in ("gleepost", "floor", "reference")
                }
                continue
            if name == "publish":
                from bench.publish_from_sync import measure

                results["scenarios"]["publish"] = measure(redis_url, 200 if args.quick else 5000)
                print(f"  publish {results['scenarios']['publish']}", flush=True)
                continue
            if name == "http-layouts":
                from bench import http_layouts

                layouts = http_layouts.measure(
                    env,
                    members,
                    args.duration,
                    args.layout_rounds,
                    SERVER_CORES,
                    OTHER_CORES,
                    lambda line: print(f"  http-layouts {line}", flush=True),
                    # --rates RATE: a smoke run below the measurement's rate.
                    float(args.rates.split(",")[0]) if args.rates else http_layouts.RATE,
                )
                results["scenarios"]["http-layouts"] = layouts
                print(layouts["table"], flush=True)
                continue
            if name == "rest":
                rates = QUICK_RATES[:1] if args.quick else REST_RATES
                if args.rates:
                    rates = [float(r) for r in args.rates.split(",")]
                others = [redis] if redis else []
                results["scenarios"]["rest"] = run_rest(members, rates, args, others, env)
                continue
            target, rates = scenarios[name]
            if args.rates:
                rates = [float(r) for r in args.rates.split(",")]
            others = [redis] if redis else []
            results["scenarios"][name] = run_scenario(
                name, target, members, post_id, rates, args, others, redis_url, env
            )
        write_results(results, Path(args.out_dir), quick=args.quick, tag=args.tag)
    finally:
        for process in started:
            process.stop()


def write_results(results: dict[str, Any], out_dir: Path, quick: bool, tag: str) -> None:
    from bench.report import markdown

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = results["date"][:10] + (f"-{tag}" if tag else "") + ("-quick" if quick else "")
    (out_dir / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / f"{stem}.md").write_text(markdown(results))
    print(f"wrote {out_dir / stem}.md and .json")


if __name__ == "__main__":
    main()
