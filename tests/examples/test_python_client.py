"""examples/python/client.py, run as a process against real daphne processes.

The client's daphne process is stopped while events keep being caused through another one, then
a new process is started on the same port: the client reconnects on its own, resumes, and has
printed every stream event exactly once, in order.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from posts.actions import do_add_network_members, do_create_network, do_create_post
from tests.conftest import Member
from tests.proxy import upgrade_stripping_proxy
from tests.realtime.e2e import http
from tests.servers import ROOT, daphne, free_port

pytestmark = [pytest.mark.slow, pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]

CLIENT = ROOT / "examples" / "python" / "client.py"
PASSWORD = "correct horse battery"  # what tests/conftest.py gives every member


def can_log_in_through_daphne(member: Member) -> None:
    """Store the member's password with a hasher daphne knows: the test process hashes with MD5
    (tests/conftest.py), which the service's settings do not accept."""
    hasher = PBKDF2PasswordHasher()
    # Few iterations: the test checks logging in, not the cost of guessing.
    member.user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    member.user.save(update_fields=["password"])


class ClientProcess:
    """The example client as a subprocess, its output lines collected as they come."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(CLIENT), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._read(self.process.stdout, self.lines.put)
        self._read(self.process.stderr, self.stderr.append)

    @staticmethod
    def _read(stream: IO[str], sink: Callable[[str], None]) -> None:
        thread = threading.Thread(target=lambda: [sink(line) for line in stream], daemon=True)
        thread.start()

    def wait_for(self, matches: Callable[[dict[str, Any]], bool], timeout: float = 15) -> None:
        """Collect printed events until one ``matches``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                assert self.process.poll() is None, "".join(self.stderr)
                continue
            event = json.loads(line)  # every line on standard output is one JSON event
            self.events.append(event)
            if matches(event):
                return
        raise AssertionError(f"not printed within {timeout}s; stderr:\n{''.join(self.stderr)}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def writer(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """A daphne process that stays up: events are caused through it."""
    with django_db_blocker.unblock(), daphne() as base:
        yield base


@pytest.fixture
def bob_client() -> Iterator[Callable[..., ClientProcess]]:
    started: list[ClientProcess] = []

    def start(*args: str) -> ClientProcess:
        client = ClientProcess(*args)
        started.append(client)
        return client

    yield start
    for client in started:
        client.stop()


def alice_writes_to(writer: str, alice: Member, bob: Member) -> Callable[[str], None]:
    """A conversation of alice's with bob; ``send(text)`` posts her message through ``writer``."""
    status, conversation = http(
        "POST", f"{writer}/api/v1/conversations", alice, {"participants": str(bob.id)}
    )
    assert status == 201

    def send(text: str) -> None:
        path = f"/api/v1/conversations/{conversation['id']}/messages"
        status, _ = http("POST", f"{writer}{path}", alice, {"text": text})
        assert status == 201

    return send


def message_text(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("type") == "message" and event["data"]["text"] == text


def test_client_resumes_after_its_server_restarts_without_losing_or_repeating_events(
    writer: str, alice: Member, bob: Member, bob_client: Callable[..., ClientProcess]
) -> None:
    can_log_in_through_daphne(bob)
    network = do_create_network(alice.user, "Campus")
    do_add_network_members(network, alice.user, [bob.id])
    post = do_create_post(network, alice.user, "Hello campus")
    send = alice_writes_to(writer, alice, bob)

    port = free_port()
    with daphne(port=port) as server:
        client = bob_client(
            *("--url", server, "--username", bob.user.email, "--password", PASSWORD),
            *("--subscribe-post", str(post.pk), "--max-backoff", "1"),
        )
        client.wait_for(lambda event: event == views_of(post.pk, 0))
        for text in ("one", "two"):
            send(text)
        client.wait_for(message_text("two"))
    # The client's server is gone: these commit while it has nowhere to connect.
    for text in ("three", "four"):
        send(text)
    with daphne(port=port):
        client.wait_for(message_text("four"))
        send("five")
        client.wait_for(message_text("five"))

    messages = [event for event in client.events if event.get("type") == "message"]
    assert [event["data"]["text"] for event in messages] == ["one", "two", "three", "four", "five"]
    first = messages[0]["seq"]
    assert [event["seq"] for event in messages] == list(range(first, first + 5))
    assert {event["epoch"] for event in messages} == {messages[0]["epoch"]}
    # It reconnected by resuming after "two", not by starting live again.
    assert any(f"resuming after {first + 1}," in line for line in client.stderr)
    # Subscriptions belong to a connection: the reconnected one subscribed again.
    assert client.events.count(views_of(post.pk, 0)) == 2


def views_of(post_id: int, views: int) -> dict[str, Any]:
    return {"type": "views", "location": f"/posts/{post_id}", "data": {"views": views}}


def test_refused_password_ends_the_client_with_a_message(writer: str, bob: Member) -> None:
    can_log_in_through_daphne(bob)
    arguments = ("--url", writer, "--username", bob.user.email, "--password", "not the password")
    result = subprocess.run(
        [sys.executable, str(CLIENT), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "login refused (400)" in result.stderr and "Bad email/password" in result.stderr


def test_client_falls_back_to_server_sent_events_and_resumes_across_the_switch(
    writer: str, alice: Member, bob: Member, bob_client: Callable[..., ClientProcess]
) -> None:
    """Behind a proxy that starts stripping Upgrade while the client's server restarts: the
    client switches to SSE and prints every message once, in order, across the switch."""
    can_log_in_through_daphne(bob)
    network = do_create_network(alice.user, "Campus")
    do_add_network_members(network, alice.user, [bob.id])
    post = do_create_post(network, alice.user, "Hello campus")
    send = alice_writes_to(writer, alice, bob)

    port = free_port()
    with upgrade_stripping_proxy(port) as proxy:
        url = f"http://127.0.0.1:{proxy.port}"
        with daphne(port=port):
            client = bob_client(
                *("--url", url, "--username", bob.user.email, "--password", PASSWORD),
                *("--subscribe-post", str(post.pk), "--max-backoff", "1"),
            )
            client.wait_for(lambda event: event == views_of(post.pk, 0))  # connected
            send("one")
            client.wait_for(message_text("one"))
            proxy.strip_upgrade = True
        send("two")
        with daphne(port=port):
            client.wait_for(message_text("two"), timeout=30)
            send("three")
            client.wait_for(message_text("three"))

    messages = [event for event in client.events if event.get("type") == "message"]
    assert [event["data"]["text"] for event in messages] == ["one", "two", "three"]
    first = messages[0]["seq"]
    assert [event["seq"] for event in messages] == [first, first + 1, first + 2]
    assert any("switching to Server-Sent Events" in line for line in client.stderr)
    assert any(f"streaming (resuming after {first}," in line for line in client.stderr)
    # The stream's URL carried the subscription: its current count came on it too.
    assert client.events.count(views_of(post.pk, 0)) == 2
