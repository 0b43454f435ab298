"""daphne as ``gleepost.server`` runs it, which on SIGUSR1 writes what its memory holds.

    PYTHONTRACEMALLOC=25 GLEEPOST_MEMPROBE_DIR=/tmp/probe python -m bench.memprobe <daphne args>

Each SIGUSR1 collects garbage, then writes ``<n>.snapshot`` (a tracemalloc snapshot, when
tracing is on) and ``<n>.types.json`` (the live objects the collector tracks, counted and sized
by type), and last ``<n>.done``, so a driver (bench/memory.py) knows both are complete.
"""

from __future__ import annotations

import collections
import gc
import itertools
import json
import os
import signal
import sys
import tracemalloc
from pathlib import Path
from typing import Any

_dumps = itertools.count(1)


def type_counts() -> dict[str, list[int]]:
    """``module.Type`` -> [live objects, their shallow bytes], for the collector's objects."""
    counts: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for thing in gc.get_objects():
        kind = type(thing)
        entry = counts[f"{kind.__module__}.{kind.__qualname__}"]
        entry[0] += 1
        entry[1] += sys.getsizeof(thing)
    return dict(counts)


def dump(out: Path) -> None:
    number = next(_dumps)
    gc.collect()
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(str(out / f"{number}.snapshot"))
    (out / f"{number}.types.json").write_text(json.dumps(type_counts()))
    (out / f"{number}.done").touch()


def main() -> None:
    out = Path(os.environ["GLEEPOST_MEMPROBE_DIR"])
    out.mkdir(parents=True, exist_ok=True)

    def on_signal(_signum: int, _frame: Any) -> None:
        dump(out)

    signal.signal(signal.SIGUSR1, on_signal)
    from gleepost import server

    server.main()


if __name__ == "__main__":
    main()
