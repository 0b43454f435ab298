"""The live console in headless Chromium against real daphne processes: login through the form,
events caused by another user over REST, subscriptions, a server restart the page survives
by reconnecting and resuming without losing or repeating an event, a logout it does not
reconnect after, the events' one-line view, the conversation list kept in order by the events,
and a page of 500 events."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conversations import actions as conversation_actions
from posts import actions as post_actions
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS
from tests.browser import (
    LAPTOP,
    PHONE,
    chromium_page,
    overflows_sideways,
    screenshot,
    set_password_for_daphne,
)
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
    """One message event whose line ends with ``text``, as ``<sender>: <text>``."""
    line = page.locator(
        '#events li[data-type="message"] .summary', has_text=re.compile(f": {re.escape(text)}$")
    )
    expect(line).to_have_count(1, timeout=timeout)


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
            expect(page.locator('#events li[data-type="comment"] .summary')).to_have_text(
                "bob: first!"
            )
            # Each line says what its event says: here the view count, and the notification's
            # type, actor and post.
            expect(page.locator('#events li[data-type="views"] .summary')).to_have_text("0 views")
            expect(page.locator('#events li[data-type="notification"] .summary')).to_have_text(
                f"commented · bob · post {post.pk}"
            )

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

            # The session ends (POST logout, from the page's own origin): the server closes
            # with the invalid-credentials code the page was rendered with, and the page stops
            # rather than reconnecting.
            page.evaluate(
                """() => fetch("/api/v1/logout", {
                  method: "POST",
                  headers: {"X-CSRFToken": document.querySelector("meta[name=csrf-token]").content},
                })"""
            )
            expect(state).to_have_attribute("data-state", "closed")
            expect(page.locator("#state-detail")).to_have_text(
                f"code {CLOSE_INVALID_CREDENTIALS}: the session is no longer valid; log in again"
            )
            assert int(page.inner_text("#connections")) == 2

            page.select_option("#event-filter", "message")
            expect(page.locator("#events li:visible")).to_have_count(3)
            page.select_option("#event-filter", "")
            screenshot(page, "console")


# A line is one line when it is less than two lines high (its padding included).
ALL_ONE_LINE = """lines => lines.length > 0 && lines.every(
    line => line.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(line).lineHeight)
)"""
# Text a page that inserted it as HTML would turn into an element, which would run the script.
HOSTILE_TEXT = '<img src=x onerror="window.hostileRan = true">'


def conversation_order(page: Page) -> list[int]:
    ids = page.locator("#conversations li").evaluate_all(
        "items => items.map(item => Number(item.dataset.conversation))"
    )
    return list(ids)


def expect_order(page: Page, ids: list[int]) -> None:
    """The conversation list shows exactly ``ids``, in that order (waits for it)."""
    page.wait_for_function(
        "ids => JSON.stringify([...document.querySelectorAll('#conversations li')]"
        ".map(item => Number(item.dataset.conversation))) === JSON.stringify(ids)",
        arg=ids,
    )


def test_console_shows_events_as_lines_and_keeps_conversations_in_order(
    site_env: dict[str, str], alice: Member, bob: Member, carol: Member
) -> None:
    set_password_for_daphne(alice.user, PASSWORD)
    older, _ = conversation_actions.do_create_conversation(bob.user, [alice.id])
    first = conversation_actions.do_send_message(older, bob.user, "hello from long ago")
    newer, _ = conversation_actions.do_create_conversation(carol.user, [alice.id])
    conversation_actions.do_send_message(newer, carol.user, "the latest news")

    def send(member: Member, conversation_id: int, text: str) -> dict[str, Any]:
        url = f"{site}/api/v1/conversations/{conversation_id}/messages"
        status, body = http("POST", url, member, {"text": text})
        assert status == 201, body
        return dict(body)

    with daphne(site_env) as site, chromium_page() as page:
        page.set_viewport_size(LAPTOP)
        log_in(page, site)
        expect(page.locator("#state")).to_have_attribute("data-state", "open")
        row = {
            c.pk: page.locator(f'#conversations li[data-conversation="{c.pk}"]')
            for c in (older, newer)
        }
        # The last messages come over REST: GET conversations does not carry them.
        expect(row[newer.pk].locator(".last")).to_have_text("carol: the latest news")
        expect(row[older.pk].locator(".last")).to_have_text("bob: hello from long ago")
        assert conversation_order(page) == [newer.pk, older.pk]

        # A message in the older conversation moves it to the top, as its last message.
        sent = send(bob, older.pk, "moved to the top")
        expect_order(page, [older.pk, newer.pk])
        expect(row[older.pk].locator(".last")).to_have_text("bob: moved to the top")
        expect(row[older.pk].locator(".when")).to_have_attribute("datetime", sent["timestamp"])

        # Its event: one line, collapsed, saying what it is; a click opens the JSON.
        event = page.locator('#events li[data-type="message"]')
        expect(event).to_have_count(1)
        line = event.locator("summary")
        expect(line.locator(".type")).to_have_text("message")
        expect(line.locator(".where")).to_have_text(f"/conversations/{older.pk}")
        expect(line.locator(".seq")).to_have_text(re.compile(r"^seq \d+$"))
        expect(line.locator(".at")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
        expect(line.locator(".summary")).to_have_text("bob: moved to the top")
        expect(event.locator("pre")).to_be_hidden()
        assert line.evaluate(f"line => ({ALL_ONE_LINE})([line])")
        line.click()
        expect(event.locator("pre")).to_be_visible()
        assert shown(page, "message")[0]["data"] == sent
        # And from the keyboard: the line takes the focus, Enter closes it and opens it again.
        line.focus()
        page.keyboard.press("Enter")
        expect(event.locator("pre")).to_be_hidden()
        page.keyboard.press("Enter")
        expect(event.locator("pre")).to_be_visible()

        # Text from the server stays text, in the event list and in the conversation list.
        send(carol, newer.pk, HOSTILE_TEXT)
        expect_order(page, [newer.pk, older.pk])
        expect(page.locator('#events li[data-type="message"]')).to_have_count(2)
        assert page.locator("#console img").count() == 0
        assert page.evaluate("window.hostileRan") is None
        expect(row[newer.pk].locator(".last")).to_have_text(f"carol: {HOSTILE_TEXT}")
        expect_message_shown(page, HOSTILE_TEXT)

        # A message being typed survives its conversation's move to the top.
        draft = row[older.pk].locator("input")
        draft.fill("half typed")
        draft.focus()
        send(bob, older.pk, "while alice types")
        expect_order(page, [older.pk, newer.pk])
        expect(draft).to_be_focused()
        expect(draft).to_have_value("half typed")

        status, _ = http(
            "PUT", f"{site}/api/v1/conversations/{older.pk}/messages", bob, {"seen": str(first.pk)}
        )
        assert status == 200
        expect(page.locator('#events li[data-type="read"] .summary')).to_have_text(
            f"bob read up to message {first.pk}"
        )

        # A new conversation joins the list at the top from its event.
        status, created = http(
            "POST", f"{site}/api/v1/conversations", carol, {"participants": f"{alice.id},{bob.id}"}
        )
        assert status == 201, created
        expect_order(page, [created["id"], older.pk, newer.pk])
        expect(page.locator("#conversations li").first.locator(".last")).to_have_text(
            "no messages yet"
        )
        expect(page.locator('#events li[data-type="new-conversation"] .summary')).to_have_text(
            re.compile(r"^with (carol|alice|bob), (carol|alice|bob), (carol|alice|bob)$")
        )

        assert page.locator("#events summary").evaluate_all(ALL_ONE_LINE)
        assert not overflows_sideways(page)
        screenshot(page, "console-laptop")
        page.set_viewport_size(PHONE)
        assert page.locator("#events summary").evaluate_all(ALL_ONE_LINE)
        assert not overflows_sideways(page)
        screenshot(page, "console-phone")


# Keeps a handle on each websocket the page opens, to hand its handler events directly.
RECORD_SOCKETS = """(() => {
  const Native = window.WebSocket;
  window.testSockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.testSockets.push(this); }
  };
})()"""
# Delivers `count` live-only events (views, comment, typing by turns; no seq, so the stream
# position is untouched) to the page's open socket, as frames from the server would arrive, and
# answers how long the first 500 took and all of them, until the page's next frame was drawn.
APPEND_EVENTS = """async count => {
  const socket = window.testSockets[window.testSockets.length - 1];
  const kinds = [
    i => ({type: "views", location: "/posts/1", data: {views: i}}),
    i => ({type: "comment", location: "/posts/1",
           data: {id: i, by: {id: 2, username: "bob", profile_image: ""}, text: "comment " + i,
                  timestamp: "2026-12-01T20:01:08.398868Z"}}),
    i => ({type: "typing", location: "/conversations/1",
           data: {user: 999, conversation: 1, typing: i % 2 === 0}}),
  ];
  const frames = [];
  for (let i = 0; i < count; i += 1) frames.push(JSON.stringify(kinds[i % 3](i)));
  const drawn = () => new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve)));
  const started = performance.now();
  let first500 = null;
  for (let i = 0; i < count; i += 1) {
    socket.dispatchEvent(new MessageEvent("message", {data: frames[i]}));
    if (i === 499) { await drawn(); first500 = performance.now() - started; }
  }
  await drawn();
  return {first500, all: performance.now() - started};
}"""


def test_console_keeps_the_newest_500_events_usable(
    site_env: dict[str, str], alice: Member
) -> None:
    set_password_for_daphne(alice.user, PASSWORD)
    with daphne(site_env) as site, chromium_page() as page:
        page.set_viewport_size(LAPTOP)
        page.add_init_script(RECORD_SOCKETS)
        log_in(page, site)
        expect(page.locator("#state")).to_have_attribute("data-state", "open")

        times = page.evaluate(APPEND_EVENTS, 600)
        print(f"500 events appended in {times['first500']:.0f} ms, 600 in {times['all']:.0f} ms")
        # Generous: a page that takes this long for 500 events is not usable.
        assert times["first500"] < 10_000

        events = page.locator("#events li")
        expect(events).to_have_count(500)
        expect(page.locator("#event-count")).to_have_text("600 (the newest 500 shown)")
        # Newest first: the last delivered (599, a typing event) on top, 100 to 599 kept.
        assert shown(page, "views")[0]["data"] == {"views": 102}
        expect(events.first.locator(".summary")).to_have_text("user 999 stopped typing")
        assert page.locator("#events summary").evaluate_all(ALL_ONE_LINE)

        page.select_option("#event-filter", "views")
        views_kept = len([i for i in range(100, 600) if i % 3 == 0])
        expect(page.locator("#events li:visible")).to_have_count(views_kept)
        first_views = page.locator("#events li:visible").first
        expect(first_views.locator(".summary")).to_have_text("597 views")
        first_views.locator("summary").click()
        expect(first_views.locator("pre")).to_be_visible()
        screenshot(page, "console-500-events")
