"""Every committed command that starts daphne starts it a way whose logs the tests check.

tests/gleepost/extensions/test_daphne_access.py starts real daphne processes each of these
ways and finds no token or password in anything they write; a start command of another shape
(another server, another application) would be one that nothing checks.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.servers import LISTEN_BACKLOG, ROOT

APPLICATION = "gleepost.asgi:application"
# The launchers the log tests run, as their first words (the interpreter by its name).
CHECKED_LAUNCHERS = {("python", "-m", "gleepost.server"), ("python", "-m", "daphne"), ("daphne",)}


def joined_lines(path: Path) -> list[str]:
    """The file's lines, with backslash continuations joined."""
    return path.read_text().replace("\\\n", " ").splitlines()


def start_commands() -> dict[str, str]:
    """Each committed command line that serves the ASGI application, by where it is."""
    found = {}
    for path in ("scripts/serve", "deploy/Procfile", *sorted(_units())):
        for line in joined_lines(ROOT / path):
            if APPLICATION in line and not line.lstrip().startswith("#"):
                found[path] = line
    return found


def _units() -> list[str]:
    return [str(p.relative_to(ROOT)) for p in (ROOT / "deploy" / "systemd").glob("*.service")]


def launcher(command: str) -> tuple[str, ...]:
    """The words that start the server, the interpreter or script by its name only."""
    words = shlex.split(command.removeprefix("ExecStart="))
    if words[0].endswith(":"):  # a Procfile's "web:"
        words = words[1:]
    if words[0] == "start":  # scripts/serve's helper that runs its command in the background
        words = words[1:]
    program = words[0].rsplit("/", 1)[-1]
    if program == "python" and words[1] == "-m":
        return (program, "-m", words[2])
    return (program,)


def test_scripts_serve_the_procfile_and_the_daphne_unit_start_the_application() -> None:
    assert set(start_commands()) == {
        "scripts/serve",
        "deploy/Procfile",
        "deploy/systemd/gleepost-daphne@.service",
    }


@pytest.mark.parametrize("where", sorted(start_commands()))
def test_each_start_command_is_one_the_log_tests_check(where: str) -> None:
    assert launcher(start_commands()[where]) in CHECKED_LAUNCHERS


@pytest.mark.parametrize("where", sorted(start_commands()))
def test_each_start_command_listens_with_the_deep_backlog(where: str) -> None:
    """A Twisted endpoint string with ``backlog=``: with ``-b``/``-p`` daphne listens with
    Twisted's backlog of 50, and a reconnect storm's handshakes beyond it are reset."""
    words = shlex.split(start_commands()[where].removeprefix("ExecStart="))
    assert "-b" not in words and "-p" not in words, where
    endpoints = [words[i + 1] for i, word in enumerate(words) if word == "-e"]
    assert len(endpoints) == 1 and endpoints[0].startswith("tcp:"), (where, endpoints)
    assert f":backlog={LISTEN_BACKLOG}" in endpoints[0], (where, endpoints)
