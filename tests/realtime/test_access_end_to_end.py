"""Authorization stays current while connected, on every daphne process.

The client is connected to one process; the change that takes its access away is made through
the other. Within a second, nothing more of what it lost reaches it.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conversations import actions as conversation_actions
from posts import actions as post_actions
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS
from realtime.events import views_event
from realtime.groups import post_group
from realtime.publish import publisher
from tests.conftest import Member
from tests.realtime.e2e import (
    assert_silent,
    auth_query,
    http,
    in_thread,
    next_event,
    post_view,
    session_key,
    ws_url,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
]


async def campus_post(alice: Member, *members: Member) -> tuple[int, int]:
    def make() -> tuple[int, int]:
        network = post_actions.do_create_network(alice.user, "Campus")
        post_actions.do_add_network_members(network, alice.user, [m.id for m in members])
        return network.pk, post_actions.do_create_post(network, alice.user, "hi").pk

    return await database_sync_to_async(make)()


async def test_leaving_a_conversation_stops_its_events(
    servers: tuple[str, str], alice: Member, bob: Member, carol: Member
) -> None:
    first, second = servers
    conversation, _ = await database_sync_to_async(conversation_actions.do_create_conversation)(
        alice.user, [bob.id, carol.id]
    )
    async with connect(ws_url(first, query=auth_query(bob))) as socket:
        status, _ = await asyncio.to_thread(
            http, "DELETE", f"{second}/api/v1/conversations/{conversation.pk}", bob
        )
        assert status == 204
        status, _ = await asyncio.to_thread(
            http,
            "POST",
            f"{second}/api/v1/conversations/{conversation.pk}/messages",
            alice,
            {"text": "after bob left"},
        )
        assert status == 201
        await assert_silent(socket, 1.0)


async def test_removal_from_network_stops_its_post_events_within_a_second(
    servers: tuple[str, str], alice: Member, bob: Member, carol: Member
) -> None:
    first, second = servers
    network_id, post_id = await campus_post(alice, bob, carol)
    subscribe = json.dumps({"action": "SUBSCRIBE", "posts": [post_id], "networks": [network_id]})
    async with (
        connect(ws_url(first, query=auth_query(bob))) as bob_socket,
        connect(ws_url(first, query=auth_query(carol))) as carol_socket,
    ):
        for socket in (bob_socket, carol_socket):
            await socket.send(subscribe)
            assert (await next_event(socket))["type"] == "views"
        status, _ = await asyncio.to_thread(
            http, "DELETE", f"{second}/api/v1/networks/{network_id}/users/{bob.id}", alice
        )
        assert status == 204
        await asyncio.sleep(1.0)  # the bound the issue sets
        await asyncio.to_thread(post_view, second, alice, post_id)
        status, _ = await asyncio.to_thread(
            http, "POST", f"{second}/api/v1/networks/{network_id}/posts", alice, {"text": "new"}
        )
        assert status == 201
        carol_types = {(await next_event(carol_socket))["type"] for _ in range(2)}
        assert carol_types == {"views", "post"}
        await assert_silent(bob_socket, 1.5)


async def test_deleted_post_stops_its_events(
    servers: tuple[str, str], alice: Member, bob: Member
) -> None:
    first, second = servers
    _, post_id = await campus_post(alice, bob)

    async def probe(views: int) -> None:
        """An event sent to the post's group through the real channel layer: nothing the REST
        API does reaches a deleted post's group (a comment on it is a 404), but this would
        reach a connection still subscribed to it."""
        event = views_event(post_id, views)
        publisher.publish([post_group(post_id)], event.text, event.type)
        await asyncio.to_thread(publisher.flush)

    async with connect(ws_url(first, query=auth_query(bob))) as socket:
        await socket.send(json.dumps({"action": "SUBSCRIBE", "posts": [post_id]}))
        assert (await next_event(socket))["type"] == "views"
        await probe(41)
        assert await next_event(socket) == {
            "type": "views",
            "location": f"/posts/{post_id}",
            "data": {"views": 41},
        }
        status, _ = await asyncio.to_thread(
            http, "DELETE", f"{second}/api/v1/posts/{post_id}", alice
        )
        assert status == 204
        status, _ = await asyncio.to_thread(
            http, "POST", f"{second}/api/v1/posts/{post_id}/comments", alice, {"text": "late"}
        )
        assert status == 404  # nobody can see it, its author included
        await asyncio.sleep(1.0)  # the bound this file's promise sets
        await probe(42)
        await assert_silent(socket, 1.0)


async def test_logout_on_one_process_closes_the_connection_on_the_other(
    servers: tuple[str, str], bob: Member
) -> None:
    first, second = servers
    async with connect(ws_url(first, query=auth_query(bob))) as socket:
        started = time.monotonic()
        status, _ = await asyncio.to_thread(http, "POST", f"{second}/api/v1/logout", bob)
        assert status == 204
        message: Any = json.loads(await asyncio.wait_for(socket.recv(), 2))
        assert message == {"error": "Invalid credentials"}
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 2)
        elapsed = time.monotonic() - started
    assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_INVALID_CREDENTIALS
    assert elapsed < 1.0


@pytest.mark.parametrize(("scheme", "accepted"), [("http", True), ("https", False)])
async def test_a_session_websocket_is_accepted_only_from_this_sites_own_scheme(
    servers: tuple[str, str], alice: Member, bob: Member, scheme: str, accepted: bool
) -> None:
    first, second = servers
    cookie = await in_thread(session_key, bob.user)
    # The same host and port as the service, which is plain HTTP.
    origin = first.replace("http://", f"{scheme}://")
    async with connect(
        ws_url(first),
        additional_headers={"Cookie": f"sessionid={cookie}"},
        origin=origin,  # type: ignore[arg-type]
    ) as socket:
        if not accepted:
            message: Any = json.loads(await asyncio.wait_for(socket.recv(), 5))
            assert message == {"error": "Invalid credentials"}
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 5)
            assert (
                closed.value.rcvd is not None
                and closed.value.rcvd.code == CLOSE_INVALID_CREDENTIALS
            )
            return
        status, _ = await asyncio.to_thread(
            http, "POST", f"{second}/api/v1/conversations", alice, {"participants": str(bob.id)}
        )
        assert status == 201
        assert (await next_event(socket))["type"] == "new-conversation"
