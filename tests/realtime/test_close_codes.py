"""Every close code is defined once, in ``realtime/close_codes.py``; what repeats it agrees.

The protocol doc's "Close codes" table is the docs' one list of the numbers, each with its name
(``invalid-credentials``); ``docs/asyncapi.yaml``'s ``x-close-codes`` has them as
``manage.py update_asyncapi`` writes them from the module; the console's page is rendered with
them; the two example clients (``examples/python/client.py``,
``examples/browser/gleepost-client.js``) copy them, to stand alone. Other docs and code name a
close and link to the table: the invalid-credentials number is written nowhere else, so that
renumbering it touches the module and the table's row. Each is read here and checked against
the module in both directions: every code they name exists, every code the service sends is
documented, and each says, or does, what the protocol doc says a client does on it.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from realtime import close_codes
from realtime.close_codes import (
    CLOSE_GOING_AWAY,
    CLOSE_INVALID_CREDENTIALS,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TOO_SLOW,
)
from realtime.management.commands.update_asyncapi import close_code_named, with_close_codes

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL_DOC = ROOT / "docs" / "websocket-protocol.md"
ASYNCAPI = ROOT / "docs" / "asyncapi.yaml"
UPDATE_ASYNCAPI = "python manage.py update_asyncapi"
README = ROOT / "README.md"
PYTHON_CLIENT = ROOT / "examples" / "python" / "client.py"
JS_CLIENTS = [
    ROOT / "examples" / "browser" / "gleepost-client.js",
    ROOT / "console" / "static" / "console" / "console.js",
]
PROSE = [
    README,
    ROOT / "examples" / "README.md",
    ROOT / "docs" / "openapi.yaml",
    *sorted((ROOT / "docs").glob("*.md")),
]

SENT = {
    name: value
    for name, value in vars(close_codes).items()
    if name.startswith("CLOSE_") and isinstance(value, int)
}
# The codes the service never sends itself, and the words with which the protocol doc must say
# so wherever it names them.
NOT_SENT = {close_codes.NO_CLOSE_FRAME: "never sent", close_codes.DAPHNE_INTERNAL_ERROR: "daphne"}
KNOWN = set(SENT.values()) | set(NOT_SENT)
# What a client does on each code, in the protocol doc's words ("what the client does"). The
# module's comment, the table and asyncapi's meaning each say it.
CLIENT_DOES = {
    CLOSE_NORMAL: "asked for it",
    CLOSE_GOING_AWAY: "random delay under a second",
    CLOSE_INVALID_CREDENTIALS: "log in again",
    CLOSE_POLICY: "back off",
    CLOSE_TOO_SLOW: "reconnect at once",
}
# Codes on which a client does what it does on any unexpected close: back off and resume. A
# client need not name them; every other code it must act on.
DEFAULT_BEHAVIOUR = {CLOSE_POLICY}
# RFC 6455 7.4: the ranges a close code can be in (1000-1015 defined there, 3000-4999 for
# libraries and applications).
CODE_LIKE = re.compile(r"(?<![\d.,])\b(10(?:0\d|1[0-5])|[34]\d{3})\b(?![\d.,]\d)")


def _normal(text: str) -> str:
    return " ".join(text.split()).lower()


# Numbers in the docs' ranges that are not close codes: a standard's number, a YAML limit or
# count (any key but `code`), the kernel's listen backlog.
NOT_CODES = re.compile(r"RFC \d+|^\s*(?!- code:)[\w-]+: \d+$|\b4096 on current kernels", re.M)


def _mentions(text: str) -> set[int]:
    """The close codes a document names: every number in the ranges but the known others."""
    return {int(number) for number in CODE_LIKE.findall(NOT_CODES.sub("", text))}


def _close_codes_section(text: str) -> str:
    return text.split("\n## Close codes\n", 1)[1].split("\n## ", 1)[0]


def _table() -> dict[int, str]:
    """The Close codes table of the protocol doc: code to "what the client does"."""
    rows = {}
    for line in _close_codes_section(PROTOCOL_DOC.read_text()).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].isdigit():
            assert len(cells) == 3, line
            rows[int(cells[0])] = cells[2]
    return rows


def test_every_code_of_the_module_has_a_documented_client_behaviour() -> None:
    assert set(CLIENT_DOES) == set(SENT.values()), "give a new close code its client behaviour"
    numbers = {v for k, v in vars(close_codes).items() if isinstance(v, int) and k.isupper()}
    assert numbers == KNOWN, "a code that is not CLOSE_* must be listed here as not sent"
    assert len(SENT) == len(set(SENT.values())), "one name per code"


def test_the_modules_comment_on_each_code_says_what_the_client_does() -> None:
    comments: list[str] = []
    for line in Path(close_codes.__file__).read_text().splitlines():
        if line.startswith("#"):
            comments.append(line.lstrip("# "))
        elif match := re.match(r"(CLOSE_\w+) = ", line):
            assert CLIENT_DOES[SENT[match[1]]] in _normal(" ".join(comments)), match[1]
        else:
            comments = []


def test_the_protocol_docs_table_lists_exactly_the_codes_sent() -> None:
    assert set(_table()) == set(SENT.values())


@pytest.mark.parametrize("code", sorted(CLIENT_DOES))
def test_the_protocol_docs_table_says_what_the_client_does(code: int) -> None:
    assert CLIENT_DOES[code] in _normal(_table()[code])


def test_the_protocol_docs_table_names_each_code_as_asyncapi_and_the_module_do() -> None:
    """A row's "when" starts with the code's name in bold: ``**invalid-credentials**``, the
    name other docs use for it, x-close-codes' ``name`` and the module's CLOSE_<NAME>."""
    named = {}
    for line in _close_codes_section(PROTOCOL_DOC.read_text()).splitlines():
        if match := re.match(r"\| (\d+) \| \*\*([a-z-]+)\*\*: ", line):
            named[int(match[1])] = match[2]
    assert set(named) == set(SENT.values())
    for code, name in named.items():
        assert close_code_named(name) == code, name
    channel = yaml.safe_load(ASYNCAPI.read_text())["channels"]["websocket"]
    assert {entry["code"]: entry["name"] for entry in channel["x-close-codes"]} == named


def test_the_protocol_doc_names_only_known_codes_and_says_which_are_not_sent() -> None:
    text = PROTOCOL_DOC.read_text()
    assert _mentions(text) <= KNOWN
    paragraphs = [_normal(p) for p in text.split("\n\n")]
    for code, words in NOT_SENT.items():
        saying = [p for p in paragraphs if re.search(rf"\b{code}\b", p)]
        assert any(words in p for p in saying), f"the doc must say {code} is not the service's"


@pytest.mark.parametrize("path", PROSE, ids=lambda path: str(path.relative_to(ROOT)))
def test_prose_names_only_known_codes(path: Path) -> None:
    assert _mentions(path.read_text()) <= KNOWN


def test_asyncapis_close_codes_are_those_the_command_writes() -> None:
    committed = ASYNCAPI.read_text(encoding="utf-8")
    if with_close_codes(committed) != committed:
        pytest.fail(f"docs/asyncapi.yaml's x-close-codes are stale; run\n  {UPDATE_ASYNCAPI}")


def test_asyncapi_lists_exactly_the_codes_sent_with_what_the_client_does() -> None:
    channel = yaml.safe_load(ASYNCAPI.read_text())["channels"]["websocket"]
    entries = channel["x-close-codes"]
    # Every entry has a name the command can fill its code in from.
    assert {close_code_named(entry["name"]) for entry in entries} == set(SENT.values())
    documented = {entry["code"]: _normal(entry["meaning"]) for entry in entries}
    assert set(documented) == set(SENT.values())
    for code, meaning in documented.items():
        assert CLIENT_DOES[code] in meaning, code
    assert _mentions(ASYNCAPI.read_text()) <= KNOWN


# Where the number of the invalid-credentials close may be written, outside the tests: its
# definition, the protocol doc's table row, the line `manage.py update_asyncapi` writes, and the
# example clients (standalone files users copy; the tests below check that they agree).
# Everything else names the close, so that renumbering it touches two files.
INVALID_CREDENTIALS_NUMBER_MAY_BE = {
    "realtime/close_codes.py": f"CLOSE_INVALID_CREDENTIALS = {CLOSE_INVALID_CREDENTIALS}",
    "docs/websocket-protocol.md": f"| {CLOSE_INVALID_CREDENTIALS} | **invalid-credentials**: ",
    "docs/asyncapi.yaml": f"        code: {CLOSE_INVALID_CREDENTIALS}",
}
NOT_THE_PROJECTS = {"tests", "examples", "staticfiles", "media", "test-artifacts", "__pycache__"}
TEXT_SUFFIXES = {".py", ".js", ".html", ".css", ".md", ".yaml", ".yml", ".toml", ".conf", ".sh"}


def _project_text_files() -> Iterator[Path]:
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [
            name for name in subfolders if name not in NOT_THE_PROJECTS and not name.startswith(".")
        ]
        for name in files:
            path = Path(folder, name)
            if path.suffix in TEXT_SUFFIXES or path.parent.name == "scripts":
                yield path


def test_only_the_definition_and_the_table_write_the_invalid_credentials_number() -> None:
    number = re.compile(rf"(?<![\d.]){CLOSE_INVALID_CREDENTIALS}(?![\d.])")
    found = []
    for path in _project_text_files():
        relative = path.relative_to(ROOT).as_posix()
        allowed = INVALID_CREDENTIALS_NUMBER_MAY_BE.get(relative)
        for index, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if number.search(line) and not (allowed and line.startswith(allowed)):
                found.append(f"{relative}:{index}: {line.strip()[:100]}")
    assert not found, "name the close (the invalid-credentials code) instead:\n" + "\n".join(found)


def test_readmes_metrics_table_points_to_the_close_codes_table_for_the_codes_sent() -> None:
    (row,) = [
        line for line in README.read_text().splitlines() if "connections_closed_total" in line
    ]
    assert "(docs/websocket-protocol.md#close-codes)" in row
    # The codes sent are the table's; the one the counter reports besides is named here.
    listed = {int(code) for code in re.findall(r"`(\d{4})`", row)}
    assert listed == {close_codes.NO_CLOSE_FRAME}


# ---- The clients: the codes they act on, and what they do on each ----


def _does(code: int, branch: str, client: str) -> None:
    """Fail unless the ``branch`` a client takes on ``code`` does what the protocol doc says."""
    stops = re.search(r"\breturn\b", branch) and not re.search(r"setTimeout|sleep", branch)
    if code == CLOSE_NORMAL:
        assert stops, f"{client}: {code} ends the client"
    elif code == CLOSE_INVALID_CREDENTIALS:
        # It stops, or it drops the credential and logs in again (it has the password).
        assert stops or re.search(r"credentials\s*=\s*(None|null)\b", branch), client
    elif code == CLOSE_GOING_AWAY:
        assert re.search(r"attempt\s*=\s*0\b", branch), f"{client}: {code} restarts the backoff"
    elif code == CLOSE_TOO_SLOW:
        assert re.search(r"delay\s*=\s*0(\.0)?\b", branch), f"{client}: {code} resumes at once"
    else:
        assert not stops and not re.search(r"delay\s*=\s*0(\.0)?\b", branch), client


def _python_branches() -> dict[int, list[str]]:
    """The branches of the Python client on each close code it compares ``close_code`` with."""
    source = PYTHON_CLIENT.read_text()
    tree = ast.parse(source)
    constants: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            (target,) = node.targets
            if isinstance(target, ast.Name) and target.id.startswith("CLOSE_"):
                assert isinstance(node.value.value, int)
                constants[target.id] = node.value.value
    assert constants == {name: SENT[name] for name in constants}, "the module's names and codes"

    def codes_in(test: ast.expr) -> list[int]:
        found = []
        for compare in ast.walk(test):
            if isinstance(compare, ast.Compare) and ast.unparse(compare.left) == "close_code":
                for right in compare.comparators:
                    if isinstance(right, ast.Name):
                        found.append(constants[right.id])
                    else:
                        assert isinstance(right, ast.Constant), ast.unparse(right)
                        assert isinstance(right.value, int), ast.unparse(right)
                        found.append(right.value)
        return found

    branches: dict[int, list[str]] = {}
    for found in ast.walk(tree):
        if isinstance(found, ast.If):
            body = "\n".join(ast.unparse(statement) for statement in found.body)
            for code in codes_in(found.test):
                branches.setdefault(code, []).append(body)
        elif isinstance(found, ast.Assign) and isinstance(found.value, ast.IfExp):
            body = f"{ast.unparse(found.targets[0])} = {ast.unparse(found.value.body)}"
            for code in codes_in(found.value.test):
                branches.setdefault(code, []).append(body)
    return branches


def _matching_brace(text: str, opening: int) -> int:
    depth = 0
    for index in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return index
    raise AssertionError("unbalanced braces")


# What a JavaScript client compares ``code`` with: a number (the example client), or the
# module's CLOSE_<NAME> that the console's page was rendered with (``CLOSE.<NAME>``).
JS_CLOSE_CODE = r"(\d+|CLOSE\.\w+)"


def _js_code(written: str) -> int:
    if written.startswith("CLOSE."):
        return SENT["CLOSE_" + written.removeprefix("CLOSE.")]
    return int(written)


def _js_branches(path: Path) -> dict[int, list[str]]:
    """The ``if (... code === N ...) { ... }`` blocks of a JavaScript client, by code."""
    text = path.read_text()
    branches: dict[int, list[str]] = {}
    in_conditions = 0
    for match in re.finditer(r"\bif\s*\(([^)]*)\)\s*\{", text):
        written = re.findall(rf"\bcode\s*===\s*{JS_CLOSE_CODE}", match[1])
        codes = [_js_code(code) for code in written]
        in_conditions += len(codes)
        block = text[match.end() - 1 : _matching_brace(text, match.end() - 1) + 1]
        for code in codes:
            branches.setdefault(code, []).append(block)
    compared = re.findall(rf"\bcode\s*[!=]==?\s*{JS_CLOSE_CODE}", text)
    assert len(compared) == in_conditions, f"{path.name}: a close code compared outside an if"
    return branches


def _client_mentions(path: Path) -> set[int]:
    """Close codes a client names: in comparisons, closes, status texts and comments."""
    text = path.read_text()
    if path.suffix == ".py":
        return {int(code) for code in CODE_LIKE.findall(text)}
    found = re.findall(r"\bcode\s*[!=]==?\s*(\d+)|\.close\((\d+)\)|\"code (\d+)", text)
    found += [
        (code,) for comment in re.findall(r"//.*", text) for code in CODE_LIKE.findall(comment)
    ]
    named = {SENT.get(f"CLOSE_{name}", -1) for name in re.findall(r"\bCLOSE\.(\w+)", text)}
    return {int(code) for groups in found for code in groups if code} | named


CLIENTS = [PYTHON_CLIENT, *JS_CLIENTS]


def _branches(path: Path) -> dict[int, list[str]]:
    return _python_branches() if path.suffix == ".py" else _js_branches(path)


@pytest.mark.parametrize("path", CLIENTS, ids=lambda path: path.name)
def test_a_client_names_only_codes_that_exist(path: Path) -> None:
    assert _client_mentions(path) <= KNOWN


@pytest.mark.parametrize("path", CLIENTS, ids=lambda path: path.name)
def test_a_client_acts_on_every_code_as_the_protocol_doc_says(path: Path) -> None:
    branches = _branches(path)
    assert set(branches) <= set(SENT.values()), "a client acts only on codes the service sends"
    assert set(SENT.values()) - DEFAULT_BEHAVIOUR <= set(branches), "codes the client ignores"
    for code, bodies in branches.items():
        for body in bodies:
            _does(code, body, path.name)


def test_the_clients_first_backoff_is_under_a_second() -> None:
    """After 1001 a client restarts its backoff: its first wait must be under a second."""
    assert re.search(r"^FIRST_BACKOFF_SECS = (0\.\d+|1\.0)$", PYTHON_CLIENT.read_text(), re.M)
    for path in JS_CLIENTS:
        (base,) = re.findall(r"var BACKOFF_BASE_MS = (\d+);", path.read_text())
        assert int(base) <= 1000, path.name
