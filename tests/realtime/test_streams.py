"""The HTTP transports inside one process (realtime.consumer.streams): Server-Sent Events at
``/api/v1/events`` and the long-poll at ``/api/v1/longpoll``, on the websocket's rules.

Events are caused by the real actions and travel through the configured channel layer (Redis in
CI); the application is driven as daphne drives it (tests/realtime/streams.py). Over real daphne
and TCP: test_streams_end_to_end.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import ApplicationCommunicator
from django.utils import timezone

from accounts import actions as account_actions
from conversations import actions as conversation_actions
from conversations.models import Conversation
from gleepost.asgi import application
from posts import actions as post_actions
from posts.models import Post
from realtime.consumer.streams import open_streams
from tests.conftest import Member
from tests.realtime.e2e import session_key
from tests.realtime.streams import HttpStream, http_scope, member_query

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

run = database_sync_to_async
EVENTS = "/api/v1/events"
LONGPOLL = "/api/v1/longpoll"
INVALID_CREDENTIALS = {"error": "Invalid credentials"}


async def conversation_of(alice: Member, bob: Member) -> Conversation:
    conversation, _ = await run(conversation_actions.do_create_conversation)(alice.user, [bob.id])
    return conversation


async def send(conversation: Conversation, sender: Member, text: str) -> None:
    await run(conversation_actions.do_send_message)(conversation, sender.user, text)


async def make_post(author: Member, *members: Member) -> Post:
    network = await run(post_actions.do_create_network)(author.user, "Campus")
    await run(post_actions.do_add_network_members)(network, author.user, [m.id for m in members])
    return await run(post_actions.do_create_post)(network, author.user, "hello")


async def polling(query: str) -> asyncio.Future[HttpStream]:
    """A long-poll that is waiting (its handshake done), to be awaited for its answer."""
    waiting = len(open_streams.streams)
    poll = asyncio.ensure_future(HttpStream.open(LONGPOLL, query))
    async with asyncio.timeout(5):
        while len(open_streams.streams) == waiting:
            await asyncio.sleep(0.01)
    return poll


async def sse(member: Member | None = None, extra: str = "", **kwargs: Any) -> HttpStream:
    query = member_query(member, extra) if member is not None else extra
    return await HttpStream.open(EVENTS, query, **kwargs)


async def opened(member: Member, extra: str = "", **kwargs: Any) -> HttpStream:
    """An SSE stream that was accepted: 200, an event stream, ``retry:`` first."""
    stream = await sse(member, extra, **kwargs)
    assert stream.status == 200
    assert stream.headers[b"content-type"] == b"text/event-stream; charset=utf-8"
    assert stream.headers[b"x-accel-buffering"] == b"no"
    assert await stream.next_block() == "retry: 2000"
    return stream


class TestServerSentEvents:
    async def test_stream_events_carry_their_position_as_id(
        self, alice: Member, bob: Member
    ) -> None:
        conversation = await conversation_of(alice, bob)
        stream = await opened(bob)
        await send(conversation, alice, "hello")
        event = await stream.next_event()
        assert event.event == "message"
        assert event.data["data"]["text"] == "hello"
        # The same envelope as the websocket's, seq and epoch included; the id names them.
        assert event.id == f"{event.data['epoch']}:{event.data['seq']}"
        await stream.close()

    async def test_every_control_message_of_the_user_group_is_handled(
        self, alice: Member, bob: Member, carol: Member
    ) -> None:
        """Participants added (realtime.conversation_changed) and the rest: the stream carries
        on, and a poll waits on."""
        conversation = await conversation_of(alice, bob)
        stream = await opened(bob)
        poll = await polling(member_query(carol))
        await run(conversation_actions.do_add_participants)(conversation, alice.user, [carol.id])
        changed = await stream.next_event()
        assert changed.event == "changed-conversation"
        assert (await poll).status == 200  # carol's new-conversation
        await send(conversation, alice, "still open")
        assert (await stream.next_event()).data["data"]["text"] == "still open"
        await stream.close()

    async def test_the_token_header_is_accepted(self, alice: Member, bob: Member) -> None:
        conversation = await conversation_of(alice, bob)
        stream = await opened(bob, headers=[(b"x-gp-auth", bob.auth_header.encode())])
        await send(conversation, alice, "by header")
        assert (await stream.next_event()).data["data"]["text"] == "by header"
        await stream.close()

    @pytest.mark.parametrize("query", ["", "id=1&token=nope", "id=abc&token=x"])
    async def test_bad_credentials_get_401_and_no_stream(self, query: str) -> None:
        stream = await sse(extra=query)
        assert stream.status == 401
        assert await stream.json() == INVALID_CREDENTIALS

    async def test_a_session_counts_from_the_same_site_only(
        self, alice: Member, bob: Member
    ) -> None:
        key = await run(session_key)(bob.user)
        cookie = (b"cookie", f"sessionid={key}".encode())
        # EventSource on the service's own page: no Origin at all.
        own = await opened(bob, headers=[cookie, (b"sec-fetch-site", b"same-origin")])
        await own.close()
        own = await HttpStream.open(EVENTS, headers=[cookie])
        assert own.status == 200
        await own.close()
        for foreign in [(b"origin", b"https://evil.example"), (b"sec-fetch-site", b"cross-site")]:
            refused = await HttpStream.open(EVENTS, headers=[cookie, foreign])
            assert refused.status == 401, foreign

    async def test_last_event_id_replays_what_was_missed_in_order(
        self, alice: Member, bob: Member
    ) -> None:
        conversation = await conversation_of(alice, bob)
        first = await opened(bob)
        await send(conversation, alice, "one")
        seen = await first.next_event()
        await first.close()
        for text in ["two", "three"]:
            await send(conversation, alice, text)
        again = await opened(bob, headers=[(b"last-event-id", seen.id.encode())])  # type: ignore[union-attr]
        replayed = [await again.next_event() for _ in range(2)]
        assert [e.data["data"]["text"] for e in replayed] == ["two", "three"]
        assert [e.data["seq"] for e in replayed] == [seen.data["seq"] + 1, seen.data["seq"] + 2]
        await again.assert_silent()
        await send(conversation, alice, "four")
        assert (await again.next_event()).data["data"]["text"] == "four"
        await again.close()

    async def test_since_and_epoch_in_the_url_resume_too(self, alice: Member, bob: Member) -> None:
        conversation = await conversation_of(alice, bob)
        first = await opened(bob)
        await send(conversation, alice, "one")
        seen = await first.next_event()
        await first.close()
        await send(conversation, alice, "two")
        query = f"since={seen.data['seq']}&epoch={seen.data['epoch']}"
        again = await opened(bob, query)
        assert (await again.next_event()).data["data"]["text"] == "two"
        await again.close()

    async def test_an_unknown_epoch_gets_resync_required_with_its_position_as_id(
        self, alice: Member, bob: Member
    ) -> None:
        stream = await opened(bob, headers=[(b"last-event-id", b"gone:3")])
        event = await stream.next_event()
        assert event.event == "resync-required"
        data = event.data["data"]
        assert event.id == f"{data['epoch']}:{data['since']}"
        await stream.close()

    @pytest.mark.parametrize("value", [b"nonsense", b"epoch:-1", b":4", b"e:x"])
    async def test_a_malformed_last_event_id_gets_an_error_then_resync(
        self, bob: Member, value: bytes
    ) -> None:
        stream = await opened(bob, headers=[(b"last-event-id", value)])
        error = await stream.next_event()
        assert error.event == "error"
        assert (await stream.next_event()).event == "resync-required"
        await stream.close()

    async def test_subscriptions_in_the_url_members_only(
        self, alice: Member, bob: Member, dave: Member
    ) -> None:
        visible = await make_post(alice, bob)
        hidden = await make_post(dave)
        stream = await opened(bob, f"posts={visible.pk},{hidden.pk}")
        refused = await stream.next_event()
        assert refused.event == "error"
        assert refused.data["data"] == {"reason": "not allowed", "posts": [hidden.pk]}
        counts = await stream.next_event()
        assert (counts.event, counts.data["location"]) == ("views", f"/posts/{visible.pk}")
        await run(post_actions.do_record_views)(alice.user, [(visible.pk, timezone.now())])
        views = await stream.next_event()
        assert (views.event, views.data["data"]) == ("views", {"views": 1})
        await run(post_actions.do_record_views)(alice.user, [(hidden.pk, timezone.now())])
        await stream.assert_silent()
        await stream.close()

    @pytest.mark.parametrize("query", ["posts=a,1", "posts=0", "networks=1,,2", "posts=-3"])
    async def test_malformed_subscriptions_get_an_error_event(
        self, bob: Member, query: str
    ) -> None:
        stream = await opened(bob, query)
        error = await stream.next_event()
        assert error.event == "error"
        assert "positive integers" in error.data["data"]["reason"]
        await stream.close()

    async def test_too_many_subscriptions_are_refused_whole(
        self, alice: Member, bob: Member, settings: Any
    ) -> None:
        settings.GLEEPOST = {**settings.GLEEPOST, "MAX_SUBSCRIPTIONS_PER_CONNECTION": 1}
        first, second = await make_post(alice, bob), await make_post(alice, bob)
        stream = await opened(bob, f"posts={first.pk},{second.pk}")
        error = await stream.next_event()
        assert error.data["data"] == {"reason": "at most 1 subscriptions per connection"}
        await stream.close()

    async def test_logging_out_ends_the_stream(self, alice: Member, bob: Member) -> None:
        conversation = await conversation_of(alice, bob)
        stream = await opened(bob)
        token = await run(lambda: bob.user.auth_tokens.get())()
        await run(account_actions.do_logout)(token)
        ended = await stream.next_event()
        assert (ended.event, ended.data) == ("error", INVALID_CREDENTIALS)
        assert await stream.wait_ended() == b""
        await send(conversation, alice, "after")
        await stream.close()
        # EventSource comes back on its own: it is refused, and stops.
        again = await sse(bob)
        assert again.status == 401

    async def test_one_past_the_connection_cap_gets_429(
        self, alice: Member, bob: Member, settings: Any
    ) -> None:
        settings.GLEEPOST = {**settings.GLEEPOST, "MAX_CONNECTIONS_PER_USER": 1}
        stream = await opened(bob)
        refused = await sse(bob)
        assert refused.status == 429
        assert (await refused.json())["data"] == {"reason": "too many connections"}
        poll = await HttpStream.open(LONGPOLL, member_query(bob))
        assert poll.status == 429
        await stream.close()
        await (await opened(bob)).close()

    async def test_an_idle_stream_gets_heartbeats(self, bob: Member, settings: Any) -> None:
        settings.GLEEPOST = {**settings.GLEEPOST, "SSE_HEARTBEAT_SECS": 0.2}
        stream = await opened(bob)
        assert await stream.next_block() == ": heartbeat"
        assert await stream.next_block() == ": heartbeat"
        await stream.close()

    async def test_shutting_down_ends_every_stream(self, alice: Member, bob: Member) -> None:
        streams = [await opened(bob), await opened(alice)]
        poll = await polling(member_query(bob))
        assert open_streams.end_all() == 3
        for stream in streams:
            assert await stream.wait_ended() == b""
        assert await (await poll).json() == {}

    async def test_streams_are_counted_by_transport(self, bob: Member) -> None:
        from prometheus_client import REGISTRY

        def value(name: str, **labels: str) -> float:
            return REGISTRY.get_sample_value(f"gleepost_http_streams_{name}", labels) or 0.0

        before = value("opened_total", transport="sse"), value("open", transport="sse")
        stream = await opened(bob)
        assert value("opened_total", transport="sse") == before[0] + 1
        assert value("open", transport="sse") == before[1] + 1
        client_gone = value("closed_total", transport="sse", code="client")
        await stream.close()
        assert value("open", transport="sse") == before[1]
        assert value("closed_total", transport="sse", code="client") == client_gone + 1


@pytest.mark.parametrize("path", [EVENTS, LONGPOLL])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD"])
async def test_other_methods_than_get_are_refused(path: str, method: str, bob: Member) -> None:
    communicator = ApplicationCommunicator(
        application, {**http_scope(path, member_query(bob)), "method": method}
    )
    await communicator.send_input({"type": "http.request", "body": b"x=1"})
    start = await communicator.receive_output(timeout=5)
    assert start["status"] == 405
    assert dict(start["headers"])[b"allow"] == b"GET"
    body = await communicator.receive_output(timeout=5)
    assert json.loads(body["body"]) == {"error": "Method not allowed"}


class TestLongPoll:
    async def test_waits_for_the_next_event_and_answers_with_it(
        self, alice: Member, bob: Member
    ) -> None:
        conversation = await conversation_of(alice, bob)
        await send(conversation, alice, "before the poll")
        poll = await polling(member_query(bob))
        await asyncio.sleep(0.3)
        assert not poll.done()
        await send(conversation, alice, "during the poll")
        answer = await poll
        assert answer.status == 200
        event = await answer.json()
        assert (event["type"], event["data"]["text"]) == ("message", "during the poll")

    async def test_since_answers_with_the_first_event_after_it_at_once(
        self, alice: Member, bob: Member
    ) -> None:
        conversation = await conversation_of(alice, bob)
        for text in ["one", "two", "three"]:
            await send(conversation, alice, text)
        first = await (await HttpStream.open(LONGPOLL, member_query(bob, "since=0&epoch=x"))).json()
        assert first["type"] == "resync-required"  # an epoch the server never had
        epoch, since = first["data"]["epoch"], 1  # the new conversation is seq 1
        texts = []
        while True:
            poll = await HttpStream.open(
                LONGPOLL, member_query(bob, f"since={since}&epoch={epoch}")
            )
            event = await poll.json()
            if not event:
                break
            texts.append(event["data"]["text"])
            since = event["seq"]
            if since == 4:
                break
        assert texts == ["one", "two", "three"]

    async def test_nothing_in_time_answers_an_empty_object(
        self, bob: Member, settings: Any
    ) -> None:
        settings.GLEEPOST = {**settings.GLEEPOST, "LONGPOLL_TIMEOUT_SECS": 0.3}
        poll = await HttpStream.open(LONGPOLL, member_query(bob))
        assert poll.status == 200
        assert await poll.json() == {}

    async def test_a_malformed_position_is_a_bad_request(self, bob: Member) -> None:
        poll = await HttpStream.open(LONGPOLL, member_query(bob, "since=-1&epoch=x"))
        assert poll.status == 400
        assert (await poll.json())["data"]["reason"] == "since must be a non-negative integer"

    async def test_bad_credentials_get_401(self, bob: Member) -> None:
        poll = await HttpStream.open(LONGPOLL, "id=1&token=nope")
        assert poll.status == 401
        assert await poll.json() == INVALID_CREDENTIALS

    async def test_logging_out_during_a_poll_answers_401(self, alice: Member, bob: Member) -> None:
        poll = await polling(member_query(bob))
        token = await run(lambda: bob.user.auth_tokens.get())()
        await run(account_actions.do_logout)(token)
        answer = await poll
        assert answer.status == 401
        assert await answer.json() == INVALID_CREDENTIALS
