"""The benchmark's processes: gunicorn's CPU is its master's and its workers' together."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys

import pytest

from tests.servers import ROOT

# Under --import-mode=importlib this folder is the package ``bench`` (tests/ has no
# __init__.py), so the benchmark's module is loaded from its file.
_spec = importlib.util.spec_from_file_location("bench_processes", ROOT / "bench" / "processes.py")
assert _spec is not None and _spec.loader is not None
processes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(processes)

pytestmark = [pytest.mark.slow]

# A parent that runs a child burning 0.3 s of CPU and reaps it, then starts a second one that
# burns as much, says so and stays; the parent itself burns next to nothing.
TREE = """
import subprocess, sys, time
burn = "import time\\nend = time.process_time() + 0.3\\nwhile time.process_time() < end: pass\\n"
subprocess.run([sys.executable, "-c", burn], check=True)
subprocess.Popen([sys.executable, "-c", burn + "print('burnt', flush=True)\\ntime.sleep(30)"])
time.sleep(30)
"""


def test_whole_tree_counts_live_and_reaped_children() -> None:
    tree = processes.Process(
        "tree", [sys.executable, "-c", TREE], stdout_pipe=True, whole_tree=True
    )
    try:
        assert tree.popen.stdout.readline() == b"burnt\n"
        with_children = tree.cpu_seconds()
        tree.whole_tree = False
        assert with_children >= 0.55
        assert tree.cpu_seconds() < 0.2
    finally:
        for pid in processes.descendants(tree.pid):
            os.kill(pid, signal.SIGTERM)
        tree.stop()
