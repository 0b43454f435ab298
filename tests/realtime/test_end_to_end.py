"""End to end over real TCP: daphne processes, a real websocket client, REST causing events.

Two daphne processes share the Redis channel layer and the test database; a client connected to
one receives events caused through the other, through the admin, and by separate worker
processes (the video worker, the expiry job).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conversations import actions as conversation_actions
from conversations.models import Conversation
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS
from realtime.publish import publisher
from tests.conftest import Member
from tests.realtime.e2e import (
    assert_silent,
    http,
    in_thread,
    next_event,
    post_view,
    session_key,
    ws_url,
)
from tests.servers import run_command

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
]


async def test_event_crosses_daphne_processes(
    servers: tuple[str, str], alice: Member, bob: Member, carol: Member
) -> None:
    first, second = servers
    status, conversation = await asyncio.to_thread(
        http, "POST", f"{second}/api/v1/conversations", alice, {"participants": str(bob.id)}
    )
    assert status == 201
    async with (
        connect(ws_url(first, query=f"id={bob.id}&token={bob.token}")) as bob_socket,
        connect(ws_url(second, "/ws", f"id={carol.id}&token={carol.token}")) as carol_socket,
    ):
        status, message = await asyncio.to_thread(
            http,
            "POST",
            f"{second}/api/v1/conversations/{conversation['id']}/messages",
            alice,
            {"text": "across processes"},
        )
        assert status == 201
        assert await next_event(bob_socket) == {
            "type": "message",
            "location": f"/conversations/{conversation['id']}",
            "data": message,
        }
        await assert_silent(carol_socket)


async def test_rest_calls_cause_each_conversation_event(
    servers: tuple[str, str], alice: Member, bob: Member
) -> None:
    first, second = servers
    async with connect(
        ws_url(first), additional_headers={"X-GP-Auth": bob.auth_header}
    ) as bob_socket:
        status, live = await asyncio.to_thread(
            http,
            "POST",
            f"{second}/api/v1/conversations",
            alice,
            {"participants": str(bob.id), "live": "true"},
        )
        assert status == 201
        created = await next_event(bob_socket)
        assert created == {
            "type": "new-conversation",
            "location": f"/conversations/{live['id']}",
            "data": live,
        }
        url = f"{second}/api/v1/conversations/{live['id']}"
        status, message = await asyncio.to_thread(
            http, "POST", f"{url}/messages", alice, {"text": "hi"}
        )
        assert (await next_event(bob_socket))["type"] == "message"
        await asyncio.to_thread(http, "PUT", f"{url}/messages", bob, {"seen": str(message["id"])})
        assert await next_event(bob_socket) == {
            "type": "read",
            "location": f"/conversations/{live['id']}",
            "data": {"user": bob.id, "last_read": message["id"]},
        }
        status, changed = await asyncio.to_thread(http, "PUT", url, alice, {"expiry": "false"})
        assert status == 200
        assert await next_event(bob_socket) == {
            "type": "changed-conversation",
            "location": f"/conversations/{live['id']}",
            "data": changed,
        }
        _, second_live = await asyncio.to_thread(
            http,
            "POST",
            f"{second}/api/v1/conversations",
            alice,
            {"participants": str(bob.id), "live": "true"},
        )
        await next_event(bob_socket)  # its new-conversation
        status, _ = await asyncio.to_thread(
            http, "DELETE", f"{second}/api/v1/conversations/{second_live['id']}", alice
        )
        assert status == 204
        ended = await next_event(bob_socket)
        assert ended["type"] == "ended-conversation"
        assert ended["data"]["expiry"]["ended"] is True


async def test_bad_credentials_close_with_the_invalid_credentials_code(
    servers: tuple[str, str], bob: Member
) -> None:
    async with connect(ws_url(servers[0], query=f"id={bob.id}&token=wrong")) as socket:
        assert json.loads(await socket.recv()) == {"error": "Invalid credentials"}
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_INVALID_CREDENTIALS


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [("same", True), ("http://evil.example", False), (None, False)],
)
async def test_session_cookie_needs_same_origin(
    servers: tuple[str, str], alice: Member, bob: Member, origin: str | None, accepted: bool
) -> None:
    base = servers[0]
    cookie = await in_thread(session_key, bob.user)
    headers = {"Cookie": f"sessionid={cookie}"}
    origin_header = base if origin == "same" else origin
    async with connect(
        ws_url(base),
        additional_headers=headers,
        origin=origin_header,  # type: ignore[arg-type]
    ) as socket:
        if not accepted:
            assert json.loads(await socket.recv()) == {"error": "Invalid credentials"}
            return
        await asyncio.to_thread(
            http,
            "POST",
            f"{servers[1]}/api/v1/conversations",
            alice,
            {"participants": str(bob.id)},
        )
        assert (await next_event(socket))["type"] == "new-conversation"


@pytest.mark.parametrize("origin", [None, "http://any-app.example"])
async def test_token_connections_work_with_or_without_origin(
    servers: tuple[str, str], alice: Member, bob: Member, origin: str | None
) -> None:
    query = f"id={bob.id}&token={bob.token}"
    async with connect(ws_url(servers[0], query=query), origin=origin) as socket:  # type: ignore[arg-type]
        await asyncio.to_thread(
            http,
            "POST",
            f"{servers[1]}/api/v1/conversations",
            alice,
            {"participants": str(bob.id)},
        )
        assert (await next_event(socket))["type"] == "new-conversation"


async def test_admin_action_reaches_clients_on_daphne(
    servers: tuple[str, str], admin_user: Any, alice: Member, bob: Member
) -> None:
    conversation, _ = await in_thread(
        conversation_actions.do_create_conversation, alice.user, [bob.id], live=True
    )
    # Its new-conversation event is still on its way from this process: let it go first.
    await in_thread(publisher.flush)

    def end_from_admin() -> int:
        client = Client()
        client.force_login(admin_user)
        response = client.post(
            "/admin/conversations/conversation/",
            {"action": "end_conversations", "_selected_action": [str(conversation.pk)]},
        )
        return response.status_code

    async with connect(ws_url(servers[0], query=f"id={bob.id}&token={bob.token}")) as socket:
        assert await in_thread(end_from_admin) == 302
        event = await next_event(socket)
    assert event["type"] == "ended-conversation"
    assert event["data"]["id"] == conversation.pk


async def test_expiry_job_process_reaches_clients(
    servers: tuple[str, str], alice: Member, bob: Member
) -> None:
    conversation, _ = await in_thread(
        conversation_actions.do_create_conversation, alice.user, [bob.id], live=True
    )
    await in_thread(
        lambda: Conversation.objects.filter(pk=conversation.pk).update(
            expiry_time=conversation.created_at
        )
    )
    await in_thread(publisher.flush)
    async with connect(ws_url(servers[1], query=f"id={bob.id}&token={bob.token}")) as socket:
        output = await asyncio.to_thread(run_command, "end_expired_conversations")
        assert f"ended conversation {conversation.pk}" in output
        event = await next_event(socket)
    assert event["type"] == "ended-conversation"


@pytest.mark.needs_ffmpeg
async def test_video_worker_process_sends_video_ready(
    servers: tuple[str, str], alice: Member, bob: Member, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    process = await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc=duration=1:size=160x120:rate=10",
        "-pix_fmt",
        "yuv420p",
        str(clip),
    )
    assert await process.wait() == 0
    media = tmp_path / "media"
    upload_env = {"MEDIA_ROOT": str(media)}

    def upload() -> dict[str, Any]:
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.test import override_settings
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_X_GP_AUTH=alice.auth_header)
        with override_settings(MEDIA_ROOT=str(media)):
            response = client.post(
                "/api/v1/videos",
                {"video": SimpleUploadedFile("clip.mp4", clip.read_bytes(), "video/mp4")},
                format="multipart",
            )
        assert response.status_code == 201, response.content
        return dict(response.json())

    async with (
        connect(ws_url(servers[0], query=f"id={alice.id}&token={alice.token}")) as alice_socket,
        connect(ws_url(servers[0], query=f"id={bob.id}&token={bob.token}")) as bob_socket,
    ):
        video = await in_thread(upload)
        await asyncio.to_thread(run_command, "process_videos", "--once", extra_env=upload_env)
        event = await next_event(alice_socket, timeout=30)
        await assert_silent(bob_socket)
    status, rest_video = await asyncio.to_thread(
        http, "GET", f"{servers[1]}/api/v1/videos/{video['id']}", alice
    )
    assert status == 200
    assert event == {
        "type": "video-ready",
        "location": f"/videos/{video['id']}",
        "data": rest_video,
    }
    assert rest_video["status"] == "ready"
    assert rest_video["mp4"].endswith(".mp4") and rest_video["thumbnails"][0].endswith(".jpg")


async def test_views_coalesced_across_two_processes(
    servers: tuple[str, str], alice: Member, bob: Member
) -> None:
    from posts import actions as post_actions

    def make_post() -> int:
        network = post_actions.do_create_network(alice.user, "Campus")
        post_actions.do_add_network_members(network, alice.user, [bob.id])
        return post_actions.do_create_post(network, alice.user, "watch me").pk

    post_id = await in_thread(make_post)
    async with connect(ws_url(servers[0], query=f"id={bob.id}&token={bob.token}")) as socket:
        await socket.send(json.dumps({"action": "SUBSCRIBE", "posts": [post_id]}))
        # The answer to SUBSCRIBE: the current count.
        assert (await next_event(socket))["data"] == {"views": 0}
        loop = asyncio.get_running_loop()
        arrivals: list[tuple[float, int]] = []

        async def read_events() -> None:
            while True:
                try:
                    event = await next_event(socket, timeout=2.5)
                except TimeoutError:
                    return
                assert event["type"] == "views"
                arrivals.append((loop.time(), event["data"]["views"]))

        reader = asyncio.create_task(read_events())
        # 30 views over ~1.5 s, alternating between the two processes.
        for i in range(30):
            await asyncio.to_thread(post_view, servers[i % 2], alice, post_id)
            await asyncio.sleep(0.05)
        burst_end = loop.time()
        await reader
    counts = [count for _, count in arrivals]
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(arrivals)]
    assert counts[-1] == 30
    assert counts == sorted(counts)
    assert all(gap >= 0.9 for gap in gaps), gaps
    assert arrivals[-1][0] - burst_end <= 1.5
