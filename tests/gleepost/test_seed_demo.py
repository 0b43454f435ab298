"""seed_demo gives a new user something to try: users with working tokens, posts, chats, and the
README's walkthrough commands filled in, which work against a real daphne as printed."""

from __future__ import annotations

import json
import queue
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import User
from conversations.actions import do_create_conversation
from conversations.models import Conversation
from posts.actions import do_create_network, do_create_post
from posts.models import Network, Post
from tests.conftest import IN_CI
from tests.realtime.schemas import validate_event
from tests.servers import ROOT, daphne, run_command

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_data_and_working_tokens() -> None:
    output = seed()
    assert set(User.objects.values_list("username", flat=True)) == {"alice", "bob", "carol"}
    network = Network.objects.get(name="Demo Campus")
    assert network.memberships.count() == 3
    assert Post.objects.filter(network=network).count() == 2
    assert Conversation.objects.filter(expiry_time__isnull=True).count() == 1
    assert Conversation.objects.filter(expiry_time__isnull=False).count() == 1
    tokens = re.findall(r"(\w+)\s+id=(\d+)\s+email=\S+\s+token=([0-9a-f]{64})", output)
    assert len(tokens) == 3
    for _, user_id, token in tokens:
        client = APIClient()
        response = client.get("/api/v1/conversations", HTTP_X_GP_AUTH=f"{user_id}-{token}")
        assert response.status_code == 200
        assert len(response.json()) >= 1
    assert "-m websockets 'ws://127.0.0.1:8000/api/v1/ws?id=" in output


def test_seed_demo_twice_does_not_duplicate() -> None:
    seed()
    seed()
    assert User.objects.count() == 3
    assert Network.objects.count() == 1
    assert Post.objects.count() == 2
    assert Conversation.objects.filter(expiry_time__isnull=True).count() == 1


# The README's walkthrough, and the commands seed_demo prints for it.

README = ROOT / "README.md"
# Lines of the README's code blocks that are walkthrough commands (not seed_demo's own).
COMMAND_STARTS = (".venv/bin/python -m websockets ", "curl ", '{"action":')
README_BASE = "http://127.0.0.1:8000"
# How long a command's effect may take to show on Bob's websocket (views: up to a second).
EVENT_TIMEOUT_SECS = 30


@dataclass(frozen=True)
class Printed:
    """What seed_demo printed: the values the README's placeholders stand for, the commands."""

    values: dict[str, str]
    commands: list[str]


def parse(output: str) -> Printed:
    users = {
        name: (user_id, token)
        for name, user_id, token in re.findall(
            r"^  (\w+)\s+id=(\d+)\s+email=\S+\s+token=([0-9a-f]{64})$", output, re.MULTILINE
        )
    }
    regular = re.search(r"^Regular conversation id=(\d+);", output, re.MULTILINE)
    posts = re.search(r"^Network .* id=\d+, posts (\d+) and \d+$", output, re.MULTILINE)
    assert set(users) == {"alice", "bob", "carol"} and regular and posts, output
    values = {
        "<alice id>": users["alice"][0],
        "<alice token>": users["alice"][1],
        "<bob id>": users["bob"][0],
        "<bob token>": users["bob"][1],
        "<regular conversation id>": regular[1],
        "<post id>": posts[1],
    }
    commands = [line[4:] for line in output.splitlines() if line.startswith("    ")]
    return Printed(values, commands)


def walkthrough_section() -> str:
    text = README.read_text()
    start = text.index("## Try it in a minute")
    return text[start : text.index("\n## ", start + 1)]


def readme_code_lines() -> list[str]:
    """The lines of the code blocks of "Try it in a minute", unindented."""
    lines, inside = [], False
    for line in walkthrough_section().splitlines():
        if line.strip().startswith("```"):
            inside = not inside
        elif inside:
            lines.append(line.strip())
    return lines


def readme_commands(values: dict[str, str], base: str = README_BASE) -> list[str]:
    """The README's walkthrough commands, their placeholders replaced by ``values``."""
    replacements = {
        **values,
        README_BASE: base,
        README_BASE.replace("http", "ws", 1): base.replace("http", "ws", 1),
    }
    commands = []
    for line in readme_code_lines():
        if line.startswith(COMMAND_STARTS):
            for placeholder, value in replacements.items():
                line = line.replace(placeholder, value)
            commands.append(line)
    return commands


def test_seed_demo_prints_the_readme_walkthrough_filled_in() -> None:
    # Rows before the demo's, so that none of its ids is 1: a README command that has an id
    # written in instead of its placeholder cannot match by chance.
    zed, yan = (User.objects.create_user(name, f"{name}@example.com", "pw") for name in "zy")
    network = do_create_network(zed, "Other")
    do_create_post(network, zed, "Not a demo post")
    do_create_conversation(zed, [yan.pk])
    printed = parse(seed())
    assert "1" not in printed.values.values()
    assert len(printed.commands) == 5
    # Every placeholder is one seed_demo gives a value for, and every command is the README's.
    assert readme_commands(printed.values) == printed.commands
    assert not [command for command in printed.commands if re.search(r"<[a-z ]+>|…", command)]


def test_seed_demo_base_url_follows_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8123")
    commands = parse(seed()).commands
    assert "'ws://127.0.0.1:8123/api/v1/ws?id=" in commands[0]
    assert all("http://127.0.0.1:8123/api/v1/" in command for command in commands[1::2])


class Terminal:
    """The websocket command seed_demo prints, run as a user runs it: its prompt fed from a
    pipe, the events it prints (after ``< ``) read from another."""

    def __init__(self, command: str) -> None:
        args = shlex.split(command)
        if not (ROOT / args[0]).exists():  # a run without the repository's own .venv
            args[0] = sys.executable
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait_for_line(self, matches: Callable[[str], bool]) -> str:
        deadline = time.monotonic() + EVENT_TIMEOUT_SECS
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if matches(line):
                return line
        raise AssertionError(f"not printed within {EVENT_TIMEOUT_SECS} s; printed: {self.seen}")

    def wait_for_event(self, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        found: list[dict[str, Any]] = []

        def is_event(line: str) -> bool:
            printed = re.search(r"< (\{.*\})$", line.rstrip("\n"))
            if printed is None:
                return False
            event = json.loads(printed[1])
            validate_event(event)
            if matches(event):
                found.append(event)
                return True
            return False

        self.wait_for_line(is_event)
        return found[0]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # end of input: the client closes the connection
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def run_curl(command: str) -> Any:
    """A printed curl command, as written; its answer's JSON (None for an empty one)."""
    if shutil.which("curl") is None:
        if IN_CI:
            pytest.fail("CI must provide this: curl, for the README's walkthrough")
        pytest.skip("needs curl, for the README's walkthrough")
    args = shlex.split(command)
    assert args[0] == "curl"
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout else None


def keys(value: Any) -> Any:
    """The shape of a JSON value: its objects' keys, nested, without the values."""
    if isinstance(value, dict):
        return {key: keys(item) for key, item in value.items()}
    return type(value).__name__


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_walkthrough_commands_work_against_a_real_daphne() -> None:
    with daphne() as base:
        port = base.rsplit(":", 1)[1]
        printed = parse(run_command("seed_demo", extra_env={"PORT": port}))
        assert readme_commands(printed.values, base) == printed.commands
        watch, send, subscribe, view, login = printed.commands
        bob = Terminal(watch)
        try:
            bob.wait_for_line(lambda line: line.startswith("Connected to ws://"))

            sent = run_curl(send)
            assert sent["text"] == "hello"
            message = bob.wait_for_event(lambda event: event["type"] == "message")
            conversation = printed.values["<regular conversation id>"]
            assert message["location"] == f"/conversations/{conversation}"
            assert message["data"] == sent
            assert isinstance(message["seq"], int)
            assert isinstance(message["epoch"], str)
            # The README shows a real event: the same fields, nested.
            (sample,) = [line for line in readme_code_lines() if line.startswith('{"type":')]
            assert keys(json.loads(sample)) == keys(message)

            post = int(printed.values["<post id>"])
            bob.type(subscribe)
            first = bob.wait_for_event(lambda event: event["type"] == "views")
            assert first["location"] == f"/posts/{post}"
            assert run_curl(view) is None  # 204
            counted = first["data"]["views"] + 1
            bob.wait_for_event(
                lambda event: event["type"] == "views" and event["data"]["views"] == counted
            )

            session = run_curl(login)
            assert session["id"] == int(printed.values["<alice id>"])
            assert re.fullmatch(r"[0-9a-f]{64}", session["value"])
        finally:
            bob.close()
