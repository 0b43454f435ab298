"""``scripts/setup.sh``: the run command installs what serving needs (ffmpeg), the test command
also the test tools (nginx, Chromium); a virtualenv set up for the tests is not set up again.

Run on a copy of the script in a folder of its own, with stand-ins for apt-get, ``id`` (root)
and the virtualenv's python, on a PATH without ffmpeg, nginx or Chromium."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import ROOT

# What setup.sh runs besides bash builtins.
TOOLS = ("cat", "sha256sum", "cut", "basename", "dirname", "touch")
BASH = shutil.which("bash") or "/bin/bash"


@dataclass
class Checkout:
    root: Path
    calls: Path  # one line per stand-in called: its name and arguments

    def setup(self, *args: str, status: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [BASH, "scripts/setup.sh", *args],
            cwd=self.root,
            env={"PATH": str(self.root / "bin")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == status, result.stderr
        return result

    def called(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


def stand_in(path: Path, calls: Path, output: str = "") -> None:
    path.write_text(f'#!/bin/sh\necho "{path.name} $*" >> {calls}\n{output}')
    path.chmod(0o755)


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup.sh", root / "scripts")
    for requirements in ROOT.glob("requirements*.txt"):
        shutil.copy(requirements, root)
    calls = tmp_path / "calls"
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    (bin_dir / "python3").symlink_to(sys.executable)
    stand_in(bin_dir / "apt-get", calls)
    stand_in(bin_dir / "id", calls, output="echo 0\n")  # root: setup.sh installs packages
    (root / ".venv" / "bin").mkdir(parents=True)
    stand_in(root / ".venv" / "bin" / "python", calls)  # pip install, as the venv's python
    return Checkout(root, calls)


def installed_packages(calls: list[str]) -> list[str]:
    return [call.split()[-1] for call in calls if call.startswith("apt-get install")]


def test_setup_for_serving_installs_only_ffmpeg(checkout: Checkout) -> None:
    result = checkout.setup("requirements.txt")
    assert installed_packages(checkout.called()) == ["ffmpeg"]
    assert "nginx" not in result.stderr
    assert "chromium" not in result.stderr


def test_setup_for_the_tests_installs_the_test_tools_too(checkout: Checkout) -> None:
    checkout.setup("requirements-dev.txt", "--test-tools")
    assert installed_packages(checkout.called()) == ["ffmpeg", "nginx", "chromium"]


def test_setup_installs_the_requirements_it_is_given_once(checkout: Checkout) -> None:
    checkout.setup("requirements.txt")
    checkout.setup("requirements.txt")
    pip = [call for call in checkout.called() if "-m pip install" in call]
    assert len(pip) == 1
    assert pip[0].endswith("-r requirements.txt")


def test_virtualenv_set_up_for_the_tests_serves_without_installing(checkout: Checkout) -> None:
    checkout.setup("requirements-dev.txt", "--test-tools")
    checkout.setup("requirements.txt")
    pip = [call for call in checkout.called() if "-m pip install" in call]
    assert len(pip) == 1
    assert pip[0].endswith("-r requirements-dev.txt")


def test_setup_refuses_an_unknown_option(checkout: Checkout) -> None:
    result = checkout.setup("requirements.txt", "--test-toolz", status=2)
    assert "usage: scripts/setup.sh" in result.stderr


def test_the_run_command_sets_up_for_serving_and_the_test_command_for_the_tests() -> None:
    # CI runs scripts/test on a fresh checkout: it must install the test tools itself.
    assert "scripts/setup.sh requirements.txt\n" in (ROOT / "scripts" / "serve").read_text()
    test_command = (ROOT / "scripts" / "test").read_text()
    assert "scripts/setup.sh requirements-dev.txt --test-tools\n" in test_command
