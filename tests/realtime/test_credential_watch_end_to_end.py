"""Access ends at once on the embedded default too: one daphne on the in-memory channel layer,
as ``./scripts/serve`` runs it, and credentials ended in another process (issue 12).

That layer cannot carry the revocation from a ``manage.py`` process to daphne; the credential
watch (realtime.credential_watch) re-reads what daphne's connections hold instead. Each test
ends a credential from a ``manage.py`` process, also on the defaults, and times the close from
that process's commit as test_credentials_end_to_end.py does (``-s`` prints each time).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from websockets.asyncio.client import connect

from accounts.models import AuthToken
from accounts.tokens import issue_token
from tests.conftest import Member
from tests.realtime.access_e2e import (
    CloseWatch,
    manage_py_with_stdin,
    session_socket,
    shell,
    still_streaming,
    user_sockets,
)
from tests.realtime.e2e import auth_query, in_thread, session_key, ws_url
from tests.servers import daphne

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

# The embedded defaults' layer and cache, for daphne and for the process that ends access.
DEFAULTS = {"REDIS_URL": ""}
shell_on_defaults = partial(shell, extra_env=DEFAULTS)


@pytest.fixture(scope="module")
def server(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    with django_db_blocker.unblock(), daphne(extra_env=DEFAULTS) as base:
        yield base


async def test_a_password_set_in_a_shell_closes_token_and_session_sockets(
    server: str, alice: Member, bob: Member
) -> None:
    async with user_sockets(server, bob) as (token_socket, browser_socket):
        # Open and streaming before the change: a socket refused at once would also "close".
        await still_streaming([token_socket, browser_socket], alice, bob, server)
        watches = CloseWatch(token_socket), CloseWatch(browser_socket)
        committed = await asyncio.to_thread(
            shell_on_defaults,
            "from accounts.models import User; "
            f"u = User.objects.get(pk={bob.id}); u.set_password('set in a shell'); u.save()",
        )
        await watches[0].closed_for_invalid_credentials(
            committed, "in-memory layer: set_password (token)"
        )
        await watches[1].closed_for_invalid_credentials(
            committed, "in-memory layer: set_password (session)"
        )


async def test_changepassword_closes_the_users_sockets(server: str, bob: Member) -> None:
    async with connect(ws_url(server, query=auth_query(bob))) as socket:
        watch = CloseWatch(socket)
        await asyncio.to_thread(
            manage_py_with_stdin,
            "changepassword",
            bob.user.username,
            stdin="changed in a terminal\nchanged in a terminal\n",
            extra_env=DEFAULTS,
        )
        await watch.closed_for_invalid_credentials(
            time.monotonic(), "in-memory layer: changepassword"
        )


async def test_deactivating_with_an_update_in_a_shell_closes_every_socket(
    server: str, bob: Member
) -> None:
    async with user_sockets(server, bob) as (token_socket, browser_socket):
        watches = CloseWatch(token_socket), CloseWatch(browser_socket)
        committed = await asyncio.to_thread(
            shell_on_defaults,
            "from accounts.models import User; "
            f"User.objects.filter(pk={bob.id}).update(is_active=False)",
        )
        await watches[0].closed_for_invalid_credentials(
            committed, "in-memory layer: deactivated (token)"
        )
        await watches[1].closed_for_invalid_credentials(
            committed, "in-memory layer: deactivated (session)"
        )


async def test_deleting_the_account_in_a_shell_closes_every_socket(
    server: str, bob: Member
) -> None:
    async with connect(ws_url(server, query=auth_query(bob))) as socket:
        watch = CloseWatch(socket)
        committed = await asyncio.to_thread(
            shell_on_defaults,
            f"from accounts.models import User; User.objects.get(pk={bob.id}).delete()",
        )
        await watch.closed_for_invalid_credentials(committed, "in-memory layer: account deleted")


async def test_a_session_flushed_in_a_shell_closes_its_sockets_only(
    server: str, alice: Member, bob: Member
) -> None:
    ended, kept = await in_thread(session_key, bob.user), await in_thread(session_key, bob.user)
    async with (
        session_socket(server, ended) as ended_socket,
        session_socket(server, kept) as kept_socket,
        connect(ws_url(server, query=auth_query(bob))) as token_socket,
    ):
        watch = CloseWatch(ended_socket)
        committed = await asyncio.to_thread(
            shell_on_defaults,
            "from importlib import import_module; from django.conf import settings; "
            f"s = import_module(settings.SESSION_ENGINE).SessionStore('{ended}'); s.load(); "
            "s.flush()",
        )
        await watch.closed_for_invalid_credentials(committed, "in-memory layer: session flushed")
        await still_streaming([kept_socket, token_socket], alice, bob, server)


async def test_logging_out_one_token_in_a_shell_leaves_the_other(
    server: str, alice: Member, bob: Member
) -> None:
    _, phone_token = await in_thread(issue_token, bob.user)
    phone = Member(user=bob.user, token=phone_token, client=bob.client)
    laptop_id = (await in_thread(AuthToken.objects.order_by("pk").filter(user=bob.user).first)).pk
    async with (
        connect(ws_url(server, query=auth_query(bob))) as laptop_socket,
        connect(ws_url(server, query=auth_query(phone))) as phone_socket,
    ):
        watch = CloseWatch(laptop_socket)
        committed = await asyncio.to_thread(
            shell_on_defaults,
            "from accounts.actions import do_logout; from accounts.models import AuthToken; "
            f"do_logout(AuthToken.objects.get(pk={laptop_id}))",
        )
        await watch.closed_for_invalid_credentials(
            committed, "in-memory layer: one token logged out"
        )
        await still_streaming([phone_socket], alice, bob, server)
