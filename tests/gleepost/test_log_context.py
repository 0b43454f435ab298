"""Request ids: a sane incoming X-Request-ID is kept, anything else replaced; ids follow tasks."""

from __future__ import annotations

import asyncio
import re

import pytest

from gleepost import log_context

GENERATED = re.compile(r"[0-9a-f]{16}")


@pytest.mark.parametrize(
    "header", ["abc-123", b"abc-123", "3f1c9e2a-5b7d-4e8f-9a0b-1c2d3e4f5a6b", "trace:1.2_x"]
)
def test_a_sane_request_id_is_kept(header: str | bytes) -> None:
    expected = header.decode() if isinstance(header, bytes) else header
    assert log_context.request_id_from(header) == expected


@pytest.mark.parametrize(
    "header", [None, "", "has spaces", 'quote"d', "x" * 65, "line\nbreak", "é", b"\xff\xfe"]
)
def test_anything_else_gets_a_new_id(header: str | bytes | None) -> None:
    assert GENERATED.fullmatch(log_context.request_id_from(header))


def test_new_ids_differ() -> None:
    assert len({log_context.new_id() for _ in range(100)}) == 100


async def test_ids_follow_tasks_created_while_bound_and_unbind_after() -> None:
    async def seen() -> tuple[str | None, str | None]:
        await asyncio.sleep(0)
        return log_context.request_id.get(), log_context.connection_id.get()

    with log_context.ids_bound(connection="c1"):
        task = asyncio.ensure_future(seen())
    with log_context.ids_bound(request="r1"):
        other = asyncio.ensure_future(seen())
    assert await task == (None, "c1")
    assert await other == ("r1", None)
    assert log_context.connection_id.get() is None
    assert log_context.request_id.get() is None
