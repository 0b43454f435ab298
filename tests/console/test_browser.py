"""The live console in headless Chromium against real daphne processes: login through the form,
events caused by another user over REST, subscriptions, and a server restart the page survives
by reconnecting and resuming without losing or repeating an event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conversations import actions as conversation_actions
from posts import actions as post_actions
from tests.browser import chromium_page, screenshot, set_password_for_daphne
from tests.conftest import Member
from tests.realtime.e2e import http
from tests.servers import daphne, free_port, run_command

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_chromium,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "correct horse battery"
# Long enough for a daphne restart on a busy machine.
RECONNECT_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The static files daphne serves (console.js among them), collected as scripts/serve does."""
    root = tmp_path_factory.mktemp("static")
    run_command(
        "collectstatic", "--no-input", "--verbosity", "0", extra_env={"STATIC_ROOT": str(root)}
    )
    return root


@pytest.fixture
def site_env(static_root: Path) -> dict[str, str]:
    # Plain-HTTP cookies, as scripts/serve runs it locally: the browser speaks http:// here.
    return {
        "STATIC_ROOT": str(static_root),
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
    }


def shown(page: Page, event_type: str) -> list[dict[str, Any]]:
    """The events of one type the page lists, oldest first (the page shows the newest first)."""
    texts = page.locator(f'#events li[data-type="{event_type}"] pre').all_text_contents()
    return [json.loads(text) for text in reversed(texts)]


def expect_message_shown(page: Page, text: str, timeout: float = 10_000) -> None:
    event = page.locator('#events li[data-type="message"] pre', has_text=f'"text": "{text}"')
    expect(event).to_have_count(1, timeout=timeout)


def log_in(page: Page, base: str) -> None:
    # At most a second between attempts to reconnect, to keep the test short.
    page.goto(f"{base}/console/?max_backoff=1")
    assert page.url == f"{base}/console/login/?next=/console/%3Fmax_backoff%3D1"
    page.fill("#id_username", "alice@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/?max_backoff=1")


def test_console_follows_the_stream_across_a_server_restart(
    site_env: dict[str, str], alice: Member, bob: Member
) -> None:
    # The database first: Playwright's sync API runs an event loop in this thread, and Django
    # refuses queries from a thread with a running loop.
    set_password_for_daphne(alice.user, PASSWORD)
    network = post_actions.do_create_network(alice.user, "Campus")
    post_actions.do_add_network_members(network, alice.user, [bob.id])
    post = post_actions.do_create_post(network, alice.user, "Hello campus")
    conversation, _ = conversation_actions.do_create_conversation(bob.user, [alice.id])
    messages_url = f"/api/v1/conversations/{conversation.pk}/messages"
    port = free_port()

    # A second server for REST while the page's is down; both share the database.
    with daphne() as api, chromium_page() as page:
        state = page.locator("#state")
        with daphne(site_env, port=port) as site:
            log_in(page, site)
            expect(state).to_have_attribute("data-state", "open")
            expect(page.locator("#conversations li")).to_have_count(1)

            page.fill("#subscribe-ids", str(post.pk))
            page.click("#subscribe-form button[value=SUBSCRIBE]")
            expect(page.locator("#answers")).to_contain_text(
                f"subscribed to post {post.pk}: 0 views"
            )
            status, _ = http(
                "POST", f"{site}/api/v1/posts/{post.pk}/comments", bob, {"text": "first!"}
            )
            assert status == 201
            expect(page.locator('#events li[data-type="comment"]')).to_contain_text("first!")

            # The conversation's form posts through the REST API with the session and CSRF token.
            item = page.locator(f'#conversations li[data-conversation="{conversation.pk}"]')
            item.locator("input").fill("from the console")
            item.locator("button").click()
            expect(item.locator(".result")).to_contain_text("sent: message")
            expect_message_shown(page, "from the console")

            status, _ = http("POST", site + messages_url, bob, {"text": "live from bob"})
            assert status == 201
            expect_message_shown(page, "live from bob")

        # The page's server is gone: the page notices and keeps trying.
        expect(state).not_to_have_attribute("data-state", "open")
        status, _ = http("POST", api + messages_url, bob, {"text": "while the console was away"})
        assert status == 201

        with daphne(site_env, port=port) as site:
            expect(state).to_have_attribute("data-state", "open", timeout=RECONNECT_TIMEOUT_MS)
            expect_message_shown(page, "while the console was away")
            # Subscriptions are sent again on the new connection.
            expect(page.locator("#answers")).to_contain_text("again, on the new connection")
            status, _ = http(
                "POST", f"{site}/api/v1/posts/{post.pk}/comments", bob, {"text": "again"}
            )
            assert status == 201
            expect(page.locator('#events li[data-type="comment"]')).to_have_count(2)

            messages = shown(page, "message")
            assert [event["data"]["text"] for event in messages] == [
                "from the console",
                "live from bob",
                "while the console was away",
            ]
            seqs = [event["seq"] for event in messages]
            assert seqs == list(range(seqs[0], seqs[0] + 3))
            assert len({event["epoch"] for event in messages}) == 1
            assert int(page.inner_text("#connections")) == 2

            page.select_option("#event-filter", "message")
            expect(page.locator("#events li:visible")).to_have_count(3)
            page.select_option("#event-filter", "")
            screenshot(page, "console")
