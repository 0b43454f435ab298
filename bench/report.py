"""The benchmark's results as Markdown: a summary against the reference, then every step."""

from __future__ import annotations

from typing import Any

HEADER = (
    "| stack | target rate/s | publisher rate/s | delivered/s | p50 ms | p95 ms | p99 ms | "
    "lost | closed | server CPU % | load gen CPU % | publisher CPU % | Redis CPU % | "
    "server RSS MiB | passed |\n|" + "---|" * 15 + "\n"
)


def _best_line(name: str, result: dict[str, Any], results: dict[str, Any]) -> str:
    ours, ref = (result.get(s, {}).get("best") for s in ("gleepost", "reference"))
    if name == "scaleout":  # two daphnes against one
        ref, ours = (result.get(s, {}).get("best") for s in ("one daphne", "two daphnes"))
    if name == "fanout-sse":  # Server-Sent Events against the websocket
        ref, ours = (result.get(s, {}).get("best") for s in ("websocket", "sse"))
    if name == "fanout-live":  # the reference has no outbox: compare with its fanout
        ref = results["scenarios"].get("fanout", {}).get("reference", {}).get("best")

    def rate(step: dict[str, Any] | None) -> str:
        if step is None:
            return "none passed"
        return f"{step['rate']:.0f}/s (p99 {step['p99_ms']:.1f} ms)"

    ratio = f"{ours['rate'] / ref['rate']:.2f}" if ours and ref else "n/a"
    return f"| {name} | {rate(ours)} | {rate(ref)} | {ratio} |\n"


# Scenarios with a section of their own rather than a row per stack.
OWN_SECTIONS = ("idle", "rest", "publish", "handshakes", "http-layouts")


def _rest_section(rest: dict[str, Any]) -> str:
    out = [
        "\n## End to end through REST\n\n",
        "`POST /conversations/{id}/messages` from a pool of keep-alive HTTP connections (open "
        "loop), every participant connected; latency from the request's start to each "
        "participant's receipt and to the last one's. A step passes when every request got 201, "
        "every participant every message, and the last receipt's p99 < 100 ms.\n\n",
    ]
    floor = rest.get("floor") or []
    if floor:
        out.append(
            "\nServer CPU per request at 100 requests/s, from the bottom up (what daphne alone "
            "costs, then Django without a database, then the real endpoint):\n\n"
            "| requests | sent/s | statuses | HTTP p50/p99 ms | server CPU % | "
            "server CPU µs per request |\n|---|---|---|---|---|---|\n"
        )
        for row in floor:
            out.append(
                f"| {row['label']} | {row['request_rate']:.0f} | {row['statuses']} | "
                f"{row['http_p50_ms']:.1f}/{row['http_p99_ms']:.1f} | "
                f"{row['server_cpu_percent']:.0f} | {row['server_cpu_us_per_request']} |\n"
            )
        out.append("\n")
    out.append(
        "| participants | conversations | highest rate passed | last receipt p99 there |\n"
        "|---|---|---|---|\n"
    )
    for size, result in rest["sizes"].items():
        best = result["best"]
        rate = f"{best['rate']:.0f} messages/s" if best else "none passed"
        p99 = f"{best['last_p99_ms']:.1f} ms" if best else ""
        out.append(f"| {size} | {result['conversations']} | {rate} | {p99} |\n")
    out.append(
        "\n| participants | rate/s | sent/s | created | failed | HTTP p50/p99 ms | any receipt "
        "p50 ms | last receipt p50/p95/p99/max ms | lost | unmatched | server CPU % | "
        "load gen CPU % | passed |\n|" + "---|" * 13 + "\n"
    )
    for size, result in rest["sizes"].items():
        for step in result["steps"]:
            cpu = step["cpu_percent"]
            out.append(
                f"| {size} | {step['rate']:.0f} | {step['request_rate']:.0f} | "
                f"{step['created']} | {step['failed'] or ''} | "
                f"{step['http_p50_ms']:.1f}/{step['http_p99_ms']:.1f} | {step['any_p50_ms']:.1f} | "
                f"{step['last_p50_ms']:.1f}/{step['last_p95_ms']:.1f}/{step['last_p99_ms']:.1f}/"
                f"{step['last_max_ms']:.1f} | {step['lost']} | {step['unmatched']} | "
                f"{cpu.get('daphne', 0):.0f} | {cpu.get('loadgen', 0):.0f} | "
                f"{'yes' if step['passed'] else 'no'} |\n"
            )
    return "".join(out)


def _publish_section(publish: dict[str, Any]) -> str:
    return (
        "\n## Publishing from synchronous code\n\n"
        f"{publish['events']} events, one group each, from a plain thread ({publish['layer']}).\n\n"
        "| path | µs per event | Redis connections per 1,000 events |\n|---|---|---|\n"
        f"| `async_to_sync(layer.group_send)` per event | {publish['naive_us_per_event']} | "
        f"{publish['naive_connections_per_1000']} |\n"
        f"| `publisher.publish` (the caller's cost) | {publish['caller_us_per_event']} | |\n"
        f"| `publisher.publish` until all sent to Redis | {publish['until_sent_us_per_event']} | "
        f"{publish['connections_per_1000']} |\n"
    )


def _handshakes_section(handshakes: dict[str, list[dict[str, Any]]]) -> str:
    out = [
        "\n## Handshakes\n\nEvery user connects at once (50 handshakes in flight), a fresh "
        "server per stack and users who never connected; then all close and connect again. "
        "Rate from the first handshake to the last answer; server CPU read around it. floor: "
        "stock daphne accepting bare ASGI websockets, no Django.\n\n"
        "| stack | pass | connections | open | failed | seconds | handshakes/s | "
        "server CPU % | server CPU ms per handshake | load gen CPU s |\n|" + "---|" * 10 + "\n"
    ]
    for rows in handshakes.values():
        for row in rows:
            out.append(
                f"| {row['stack']} | {row['pass']} | {row['connections']} | {row['open']} | "
                f"{row['failed']} | {row['secs']} | {row['handshakes_per_sec']} | "
                f"{row['server_cpu_percent']} | {row['server_cpu_ms_per_handshake']} | "
                f"{row['load_gen_cpu_secs']} |\n"
            )
    return "".join(out)


def _step_line(step: dict[str, Any]) -> str:
    cpu = step["cpu_percent"]
    server = sum(v for k, v in cpu.items() if k.startswith(("daphne", "reference")))  # all of them
    return (
        f"| {step['stack']} | {step['rate']:.0f} | {step['publisher_rate']:.0f} | "
        f"{step['delivered_per_sec']:.0f} | {step['p50_ms']:.1f} | {step['p95_ms']:.1f} | "
        f"{step['p99_ms']:.1f} | {step['lost']} | {step['closed'] or ''} | {server:.0f} | "
        f"{cpu.get('loadgen', 0):.0f} | {cpu.get('publisher', 0):.0f} | "
        f"{cpu.get('redis', 0):.0f} | "
        f"{step['server_rss_kib'] / 1024:.0f} | {'yes' if step['passed'] else 'no'} |\n"
    )


def markdown(results: dict[str, Any]) -> str:
    out = [
        f"# Benchmark results, {results['date']}\n\n",
        f"Machine: {results['machine']['cpus']} cores, {results['machine']['platform']}; "
        f"{results['users']} users; {results['step_seconds']} s per step; database "
        f"{results['database']}. Server pinned to core 0; Redis, publisher and load generator "
        "on core 1. A step passes when nothing is lost, p99 < 100 ms and the publisher kept "
        "its rate. Latency is from the publisher's send to the load generator's receipt, both "
        "on CLOCK_MONOTONIC.\n\n",
        "## Highest rate sustained\n\n",
        "fanout: per-user events through the video worker's path (recorded on the user's "
        "stream, then sent); fanout-live: the same copies sent without the database write "
        "(the server's side alone); broadcast: `views` events to the subscribers of one post "
        "(deliveries/s = events/s x subscribers); scaleout: fanout-live on two daphne "
        "processes against one (its columns: two, one, ratio).\n\n",
        "| scenario | this project | reference (websockets + redis-py) | ratio |\n",
        "|---|---|---|---|\n",
    ]
    for name, result in results["scenarios"].items():
        if name not in OWN_SECTIONS:
            out.append(_best_line(name, result, results))
    if "rest" in results["scenarios"]:
        out.append(_rest_section(results["scenarios"]["rest"]))
    layouts = results["scenarios"].get("http-layouts")
    if layouts:
        out.append(
            "\n## HTTP layouts\n\nServer CPU per REST request in two layouts "
            "(bench/http_layouts.py): daphne with Django's ASGIHandler, "
            "gunicorn beside a daphne that holds the websockets.\n\n" + layouts["table"]
        )
    if "publish" in results["scenarios"]:
        out.append(_publish_section(results["scenarios"]["publish"]))
    idle = results["scenarios"].get("idle")
    if idle:
        out.append(
            "\n## Idle memory\n\nServer RSS with one connection open, then with N idle "
            "authenticated connections of distinct users (a fresh server each time). floor: stock "
            "daphne holding bare ASGI websockets, no Django (`bench/floor/app.py`): what any "
            "application on daphne costs at least. gleepost-sse: this project's daphne holding "
            "Server-Sent Events streams (`GET /api/v1/events`) instead of websockets.\n\n"
            "| stack | N | open | connect s | RSS with 1, MiB | RSS with N, MiB "
            "| KiB per connection |\n"
            "|---|---|---|---|---|---|---|\n"
        )
        for rows in idle.values():
            for row in rows:
                out.append(
                    f"| {row['stack']} | {row['connections']} | {row['open']} | "
                    f"{row['connect_secs']} | {row['rss_one_kib'] / 1024:.0f} | "
                    f"{row['rss_all_kib'] / 1024:.0f} | {row['kib_per_connection']} |\n"
                )
    handshakes = results["scenarios"].get("handshakes")
    if handshakes:
        out.append(_handshakes_section(handshakes))
    for name, result in results["scenarios"].items():
        if name in OWN_SECTIONS:
            continue
        out.append(f"\n## {name}: every step\n\n")
        out.append(HEADER)
        for stack_result in result.values():
            for step in stack_result.get("steps", []):
                out.append(_step_line(step))
    return "".join(out)
