"""The service's own settings are read in one place, gleepost.conf, and the docs name only them."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from gleepost.conf import DEFAULTS, gp_settings
from gleepost.shutdown import GracefulServer

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gleepost", "realtime", "accounts", "conversations", "notifications", "posts", "videos")
# Where GLEEPOST_ variables may be read: the settings module collects them into
# settings.GLEEPOST, which gleepost.conf reads.
READERS = {ROOT / "gleepost" / "conf.py", ROOT / "gleepost" / "settings.py"}
# A string that is a variable's name, or the start of one: what code reading it must spell.
VARIABLE_NAME = re.compile(r"GLEEPOST_[A-Z0-9_]*")
# GLEEPOST_NAME as the docs write it; GLEEPOST_<NAME> and GLEEPOST_LOGIN_* name no setting.
NAMED_IN_DOCS = re.compile(r"\bGLEEPOST_([A-Z][A-Z0-9_]*[A-Z0-9])\b")
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "docs").glob("*.yaml")),
    *sorted(path for path in (ROOT / "deploy").rglob("*") if path.is_file()),
]


def variable_names_in(source: str) -> list[str]:
    """The GLEEPOST_ variable names a module spells out in its code (not in its prose)."""
    return [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and VARIABLE_NAME.fullmatch(node.value)
    ]


def modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize(
    "source",
    [
        'os.environ.get("GLEEPOST_SHUTDOWN_GRACE_SECS", "5")',
        'os.environ["GLEEPOST_LISTEN_BACKLOG"]',
        'os.getenv(f"GLEEPOST_{name}")',
        '{k: v for k, v in os.environ.items() if k.startswith("GLEEPOST_")}',
        'VARIABLE = "GLEEPOST_LOG_FORMAT"',
    ],
)
def test_the_scan_finds_a_variable_read_however_it_is_spelled(source: str) -> None:
    assert variable_names_in(source)


def test_the_scan_ignores_prose() -> None:
    source = '"""Set ``GLEEPOST_LISTEN_BACKLOG``."""\n# GLEEPOST_X\nhelp = "at most N (GLEEPOST_Y)"'
    assert variable_names_in(source) == []


def test_no_module_reads_a_gleepost_variable_but_the_settings() -> None:
    found = {
        str(path.relative_to(ROOT)): names
        for path in modules()
        if path not in READERS and (names := variable_names_in(path.read_text()))
    }
    assert found == {}, "read them as gp_settings.NAME (gleepost/conf.py)"


def test_every_setting_has_a_comment_above_it_or_its_group() -> None:
    lines = (ROOT / "gleepost" / "conf.py").read_text().splitlines()
    start = lines.index("DEFAULTS: dict[str, Any] = {")
    uncommented, previous = [], lines[start]
    for line in lines[start + 1 : lines.index("}", start)]:
        name = re.match(r'\s*"([A-Z0-9_]+)":', line)
        if name and not previous.lstrip().startswith(("#", '"')):
            uncommented.append(name.group(1))
        previous = line
    assert uncommented == []


@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_docs_name_only_settings_that_exist(path: Path) -> None:
    named = set(NAMED_IN_DOCS.findall(path.read_text()))
    assert named - set(DEFAULTS) == set()


def test_the_readmes_settings_table_gives_the_defaults() -> None:
    rows = re.findall(
        r"^\| `GLEEPOST_([A-Z0-9_]+)` \| `([^`]*)`(?: \([^)]*\))? \|",
        (ROOT / "README.md").read_text(),
        re.M,
    )
    assert rows
    for name, default in rows:
        expected = DEFAULTS[name]
        actual = default if isinstance(expected, str) else float(default)
        assert actual == expected, name


@pytest.mark.parametrize(("name", "value"), [(name, "7") for name in DEFAULTS])
def test_a_configured_string_takes_the_defaults_type(name: str, value: str) -> None:
    """Environment variables are strings: each arrives as its default's type."""
    with override_settings(GLEEPOST={name: value}):
        configured = getattr(gp_settings, name)
    default = DEFAULTS[name]
    assert type(configured) is type(default)
    if not isinstance(default, str | bool):
        assert configured == 7


def test_a_configured_shutdown_grace_is_the_servers() -> None:
    with override_settings(GLEEPOST={"SHUTDOWN_GRACE_SECS": "1.5"}):
        server = GracefulServer(application=None, endpoints=["tcp:port=0"])
    assert server.grace_secs == 1.5


def test_an_environment_variable_sets_the_shutdown_grace() -> None:
    """As ``python -m gleepost.server`` does: the application sets Django up, then daphne
    creates the server."""
    code = (
        "import django; django.setup(); from gleepost.shutdown import GracefulServer; "
        "print(GracefulServer(application=None, endpoints=['tcp:port=0']).grace_secs)"
    )
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "gleepost.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**environ, "GLEEPOST_SHUTDOWN_GRACE_SECS": "1.5"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "1.5"
