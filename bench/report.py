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
    if name == "fanout-live":  # the reference has no outbox: compare with its fanout
        ref = results["scenarios"].get("fanout", {}).get("reference", {}).get("best")

    def rate(step: dict[str, Any] | None) -> str:
        if step is None:
            return "none passed"
        return f"{step['rate']:.0f}/s (p99 {step['p99_ms']:.1f} ms)"

    ratio = f"{ours['rate'] / ref['rate']:.2f}" if ours and ref else "n/a"
    return f"| {name} | {rate(ours)} | {rate(ref)} | {ratio} |\n"


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
        if name != "idle":
            out.append(_best_line(name, result, results))
    idle = results["scenarios"].get("idle")
    if idle:
        out.append(
            "\n## Idle memory\n\nServer RSS with one connection open, then with N idle "
            "authenticated connections of distinct users (a fresh server each time).\n\n"
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
    for name, result in results["scenarios"].items():
        if name == "idle":
            continue
        out.append(f"\n## {name}: every step\n\n")
        out.append(HEADER)
        for stack_result in result.values():
            for step in stack_result.get("steps", []):
                out.append(_step_line(step))
    return "".join(out)
