"""docs/frameworks.md and the framework contract tests agree: every row of its list names tests
that exist, and every contract test is named by a row."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TABLE = ROOT / "docs" / "frameworks.md"
TESTS = Path(__file__).resolve().parent
NAMED_TEST = re.compile(r"`(test_\w+\.py)::(test_\w+)`")


def _rows() -> list[str]:
    text = TABLE.read_text()
    listed = text.split("## The list", 1)[1].split("\n## ", 1)[0]
    return [line for line in listed.splitlines() if re.match(r"\| \d+ \|", line)]


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_row_names_contract_tests_that_exist() -> None:
    rows = _rows()
    # A floor against a table the split above no longer finds, not a count of kept uses.
    assert len(rows) >= 20, "docs/frameworks.md: the list's rows were not found"
    for row in rows:
        named = NAMED_TEST.findall(row.rsplit("|", 2)[-2])
        assert named, f"docs/frameworks.md: a row names no contract test: {row[:80]}"
        for file, test in named:
            assert (TESTS / file).exists(), f"docs/frameworks.md names {file}, which is missing"
            assert test in _tests_in(TESTS / file), f"docs/frameworks.md names {file}::{test}"


def test_every_contract_test_is_named_in_the_table() -> None:
    named = {f"{file}::{test}" for row in _rows() for file, test in NAMED_TEST.findall(row)}
    for path in sorted(TESTS.glob("test_*_contract.py")):
        for test in _tests_in(path):
            assert f"{path.name}::{test}" in named, (
                f"{path.name}::{test} guards a framework name docs/frameworks.md does not list"
            )
