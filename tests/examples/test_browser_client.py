"""examples/browser in headless Chromium against real daphne processes: it logs in over REST,
receives events another user causes, across a server restart delivers every stream event
exactly once and in order, and wraps long lines in its log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from conversations import actions as conversation_actions
from posts import actions as post_actions
from posts.models import Post
from tests.browser import (
    LAPTOP,
    PHONE,
    chromium_page,
    overflows_sideways,
    screenshot,
    set_password_for_daphne,
)
from tests.conftest import Member
from tests.proxy import upgrade_stripping_proxy
from tests.realtime.e2e import http, post_view
from tests.servers import daphne, free_port

PASSWORD = "correct horse battery"
# Long enough for a daphne restart on a busy machine.
RECONNECT_TIMEOUT_MS = 20_000


@pytest.mark.django_db
def test_the_example_is_served_from_the_apis_origin(client: Client) -> None:
    page = client.get("/examples/browser/index.html")
    assert page.status_code == 200
    assert b'<script src="gleepost-client.js"></script>' in b"".join(page.streaming_content)
    script = client.get("/examples/browser/gleepost-client.js")
    assert script.status_code == 200
    assert b"GleepostClient" in b"".join(script.streaming_content)


@pytest.mark.parametrize("path", ["/examples/browser/", "/examples/browser"])
def test_the_examples_folder_opens_the_page_with_its_query(client: Client, path: str) -> None:
    response = client.get(path, {"max_backoff": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/examples/browser/index.html?max_backoff=1"


# Whether an element's content is wider than the element: cut off, or scrolled sideways.
OVERFLOWS = "element => element.scrollWidth > element.clientWidth"


def received(page: Page, event_type: str) -> list[dict[str, Any]]:
    """The events of one type the client delivered to the page, in delivery order."""
    events: list[dict[str, Any]] = page.evaluate(
        "type => window.demo.received.filter(event => event.type === type)", event_type
    )
    return events


def wait_for_messages(page: Page, count: int, timeout: float = 10_000) -> None:
    page.wait_for_function(
        "count => window.demo.received.filter(event => event.type === 'message').length >= count",
        arg=count,
        timeout=timeout,
    )


def alice_watches_a_post_and_bob_writes(
    alice: Member, bob: Member
) -> tuple[Post, Callable[[str, str], None]]:
    """alice (who logs in on the page) has a post to watch, and bob a conversation with her;
    ``send(base, text)`` posts bob's message through the server at ``base``. Set up before the
    page opens: Playwright's sync API runs an event loop in this thread, and Django refuses
    queries from a thread with a running loop."""
    set_password_for_daphne(alice.user, PASSWORD)
    network = post_actions.do_create_network(alice.user, "Campus")
    post = post_actions.do_create_post(network, alice.user, "Hello campus")
    conversation, _ = conversation_actions.do_create_conversation(bob.user, [alice.id])
    messages_url = f"/api/v1/conversations/{conversation.pk}/messages"

    def send(base: str, text: str) -> None:
        status, body = http("POST", base + messages_url, bob, {"text": text})
        assert status == 201, body

    return post, send


@pytest.mark.slow
@pytest.mark.needs_chromium
@pytest.mark.django_db(transaction=True)
def test_example_delivers_every_event_once_in_order_across_a_restart(
    alice: Member, bob: Member
) -> None:
    post, send = alice_watches_a_post_and_bob_writes(alice, bob)

    port = free_port()
    # A second server for REST while the page's is down; both share the database.
    with daphne() as api, chromium_page() as page:
        state = page.locator("#state")
        with daphne(port=port) as site:
            # At most a second between attempts to reconnect, to keep the test short.
            page.goto(f"{site}/examples/browser/index.html?max_backoff=1")
            page.fill("#email", "alice@example.com")
            page.fill("#password", PASSWORD)
            page.fill("#posts", str(post.pk))
            page.click("button[type=submit]")
            expect(state).to_have_attribute("data-state", "open")
            page.wait_for_function("() => window.demo.received.some(e => e.type === 'views')")
            assert received(page, "views")[0]["location"] == f"/posts/{post.pk}"

            send(site, "one")
            wait_for_messages(page, 1)

        expect(state).not_to_have_attribute("data-state", "open")
        send(api, "two")
        send(api, "three")

        with daphne(port=port) as site:
            expect(state).to_have_attribute("data-state", "open", timeout=RECONNECT_TIMEOUT_MS)
            wait_for_messages(page, 3)
            send(site, "four")
            wait_for_messages(page, 4)
            # Anything delivered twice would have arrived by now, right behind "four".
            page.wait_for_timeout(300)

            messages = received(page, "message")
            assert [event["data"]["text"] for event in messages] == ["one", "two", "three", "four"]
            seqs = [event["seq"] for event in messages]
            assert seqs == list(range(seqs[0], seqs[0] + 4))
            assert page.evaluate("window.demo.client.connections") == 2
            # The log shows what happened, and never the token.
            log = page.inner_text("#log")
            assert "resumed after seq" in log
            assert page.evaluate("window.demo.client.credentials.token") not in log

            # A long line wraps inside the log, a word longer than the log is wide included.
            send(site, "a long message " * 30 + "https://example.com/" + "x" * 300)
            wait_for_messages(page, 5)
            for size, name in ((LAPTOP, "examples-laptop"), (PHONE, "examples-phone")):
                page.set_viewport_size(size)
                assert not page.locator("#log").evaluate(OVERFLOWS), size
                assert not overflows_sideways(page), size
                screenshot(page, name)


@pytest.mark.slow
@pytest.mark.needs_chromium
@pytest.mark.django_db(transaction=True)
def test_example_falls_back_to_server_sent_events_and_resumes_across_the_switch(
    alice: Member, bob: Member
) -> None:
    post, send = alice_watches_a_post_and_bob_writes(alice, bob)

    port = free_port()
    with (
        daphne() as api,
        upgrade_stripping_proxy(port) as proxy,
        chromium_page() as page,
    ):
        state = page.locator("#state")
        # The page reaches the service through the proxy.
        origin = f"http://127.0.0.1:{proxy.port}"
        with daphne(port=port) as site:
            page.goto(f"{origin}/examples/browser/index.html?max_backoff=1")
            page.fill("#email", "alice@example.com")
            page.fill("#password", PASSWORD)
            page.fill("#posts", str(post.pk))
            page.click("button[type=submit]")
            expect(state).to_have_attribute("data-state", "open")
            send(site, "one")
            wait_for_messages(page, 1)
            assert page.evaluate("window.demo.client.transport") == "websocket"
            # From now on the proxy strips Upgrade; the server then restarts.
            proxy.strip_upgrade = True

        expect(state).not_to_have_attribute("data-state", "open")
        send(api, "two")
        send(api, "three")

        with daphne(port=port) as site:
            expect(state).to_have_attribute("data-state", "open", timeout=RECONNECT_TIMEOUT_MS)
            assert page.evaluate("window.demo.client.transport") == "sse"
            wait_for_messages(page, 3)
            send(site, "four")
            wait_for_messages(page, 4)
            page.wait_for_timeout(300)  # a duplicate would have arrived right behind

            messages = received(page, "message")
            assert [event["data"]["text"] for event in messages] == ["one", "two", "three", "four"]
            seqs = [event["seq"] for event in messages]
            assert seqs == list(range(seqs[0], seqs[0] + 4))
            log = page.inner_text("#log")
            assert "switching to Server-Sent Events" in log
            # The stream carries the subscription too: a view reaches it.
            post_view(site, alice, post.pk)
            page.wait_for_function(
                "() => window.demo.received.some(e => e.type === 'views' && e.data.views === 1)"
            )
            assert page.evaluate("window.demo.client.credentials.token") not in log
