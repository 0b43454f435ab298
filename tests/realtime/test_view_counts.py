"""Views are coalesced: one event per post per second at most, the last one exact."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from posts import actions as post_actions
from realtime.view_counts import VIEWS_COALESCE_SECS, LocalWindows
from tests.conftest import Member
from tests.realtime.conftest import Connect
from tests.realtime.test_consumers import make_post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

run = database_sync_to_async


async def test_burst_sends_first_count_at_once_and_final_count_after_window(
    connect: Connect, alice: Member, bob: Member
) -> None:
    post = await make_post(alice, bob)
    socket = await connect(bob)
    await socket.subscribe_posts([post.pk])
    await socket.assert_silent(0.2)

    start = time.monotonic()
    await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
    first = await socket.next_event()
    first_at = time.monotonic() - start
    assert first["data"] == {"views": 1}
    # At once: before the window it opened has ended (held for its window, it would come after).
    assert first_at < VIEWS_COALESCE_SECS

    # Nine more views inside the window: no event until the window ends.
    for _ in range(9):
        await run(post_actions.do_record_views)(bob.user, [(post.pk, timezone.now())])
        await asyncio.sleep(0.03)
    burst_end = time.monotonic() - start
    second = await socket.next_event(timeout=3)
    second_at = time.monotonic() - start
    assert second["data"] == {"views": 10}
    # Not before the window, which opened after ``start``, has ended; and the final count within
    # the window that was open when the burst ended (bounds a busy machine cannot break: the
    # first holds whatever the delays, and the second has a window's worth of slack).
    assert second_at >= VIEWS_COALESCE_SECS
    assert second_at - burst_end < 2 * VIEWS_COALESCE_SECS
    # The burst is over: nothing more is sent.
    await socket.assert_silent(VIEWS_COALESCE_SECS + 0.3)


async def test_quiet_post_sends_each_view_when_windows_have_passed(
    connect: Connect, alice: Member, bob: Member
) -> None:
    post = await make_post(alice, bob)
    socket = await connect(bob)
    await socket.subscribe_posts([post.pk])
    await socket.assert_silent(0.2)
    for expected in (1, 2):
        await run(post_actions.do_record_views)(alice.user, [(post.pk, timezone.now())])
        assert (await socket.next_event())["data"] == {"views": expected}
        await asyncio.sleep(VIEWS_COALESCE_SECS + 0.1)
    await socket.assert_silent(0.3)


async def test_local_windows_open_once_per_interval() -> None:
    windows = LocalWindows()
    assert await windows.try_open(7, 1)
    assert not await windows.try_open(7, 2)
    assert await windows.try_open(8, 1)
    assert await windows.last_sent(7) == 1
    await asyncio.sleep(VIEWS_COALESCE_SECS + 0.05)
    assert await windows.try_open(7, 3)
    assert await windows.last_sent(7) == 3
