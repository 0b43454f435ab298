"""A credential that stops being valid closes what it opened, on every process (issue 12).

Each test opens websockets on the first daphne process and ends a credential another way: over
HTTP on the second process (the admin, the API, the console), in a separate ``manage.py``
process (a shell, ``changepassword``, ``clearsessions``), or by letting it expire. Within a
second, every connection opened with it closes (invalid credentials) and the user's other
credentials keep working. ``-s`` prints each close's time (docs/reliability.md's table).
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from websockets.asyncio.client import connect

from accounts.models import AuthToken
from accounts.tokens import issue_token
from tests.accounts.admin_pages import submit_user_change
from tests.conftest import Member
from tests.realtime.access_e2e import (
    CloseWatch,
    manage_py_with_stdin,
    session_socket,
    shell,
    still_streaming,
    user_sockets,
)
from tests.realtime.e2e import auth_query, http, in_thread, session_key, ws_url
from tests.servers import run_command

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
]


def browser(
    method: str,
    url: str,
    cookies: dict[str, str],
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, dict[str, str]]:
    """One request as a browser with ``cookies`` makes it (and ``headers``, a page's script's);
    the status, body and cookies set."""
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), **(headers or {})}
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=body, method=method, headers=headers)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        response = opener.open(request, timeout=10)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        set_cookies: dict[str, str] = {}
        for header in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie(header)
            set_cookies.update({name: morsel.value for name, morsel in jar.items()})
        return response.status, response.read().decode(), set_cookies


def form_post(
    base: str, path: str, session: str, form: dict[str, str], page_path: str | None = None
) -> int:
    """GET the page with the form (``path`` itself by default) for its CSRF token, then POST
    ``form`` to ``path``, as the browser logged in with ``session``."""
    cookies = {"sessionid": session}
    status, page, set_cookies = browser("GET", f"{base}{page_path or path}", cookies)
    assert status == 200, page[:500]
    cookies.update(set_cookies)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None, "no CSRF token on the page"
    status, page, _ = browser(
        "POST", f"{base}{path}", cookies, {"csrfmiddlewaretoken": token.group(1), **form}
    )
    assert status == 302, page[:2000]
    return status


# Passwords


async def test_admin_password_form_closes_token_and_session_sockets_and_revokes_tokens(
    servers: tuple[str, str], admin_user: Any, alice: Member, bob: Member
) -> None:
    first, second = servers
    admin_session = await in_thread(session_key, admin_user)
    async with user_sockets(first, bob) as (token_socket, browser_socket):
        await still_streaming([token_socket, browser_socket], alice, bob, second)
        watches = CloseWatch(token_socket), CloseWatch(browser_socket)
        await asyncio.to_thread(
            form_post,
            second,
            f"/admin/accounts/user/{bob.id}/password/",
            admin_session,
            {
                "password1": "changed by an admin",
                "password2": "changed by an admin",
                "usable_password": "true",
            },
        )
        returned = time.monotonic()
        await watches[0].closed_for_invalid_credentials(returned, "admin password form (token)")
        await watches[1].closed_for_invalid_credentials(returned, "admin password form (session)")
    for base in servers:
        status, _ = await asyncio.to_thread(http, "GET", f"{base}/api/v1/conversations", bob)
        assert status == 401


async def test_changepassword_command_closes_the_users_sockets(
    servers: tuple[str, str], bob: Member
) -> None:
    async with connect(ws_url(servers[0], query=auth_query(bob))) as socket:
        watch = CloseWatch(socket)
        await asyncio.to_thread(
            manage_py_with_stdin,
            "changepassword",
            bob.user.username,
            stdin="changed in a terminal\nchanged in a terminal\n",
        )
        await watch.closed_for_invalid_credentials(time.monotonic(), "manage.py changepassword")


async def test_set_password_and_save_in_a_shell_closes_the_users_sockets(
    servers: tuple[str, str], bob: Member
) -> None:
    async with connect(ws_url(servers[0], query=auth_query(bob))) as socket:
        watch = CloseWatch(socket)
        committed = await asyncio.to_thread(
            shell,
            "from accounts.models import User; "
            f"u = User.objects.get(pk={bob.id}); u.set_password('set in a shell'); u.save()",
        )
        await watch.closed_for_invalid_credentials(committed, "set_password() + save() in a shell")


# Sessions


async def test_api_logout_of_a_session_closes_its_sockets_only(
    servers: tuple[str, str], alice: Member, bob: Member
) -> None:
    first, second = servers
    ended, kept = await in_thread(session_key, bob.user), await in_thread(session_key, bob.user)
    async with (
        session_socket(first, ended) as ended_socket,
        session_socket(first, kept) as kept_socket,
        connect(ws_url(first, query=auth_query(bob))) as token_socket,
    ):
        cookies = {"sessionid": ended}
        _, _, set_cookies = await asyncio.to_thread(browser, "GET", f"{second}/console/", cookies)
        cookies.update(set_cookies)
        watch = CloseWatch(ended_socket)
        status, body, _ = await asyncio.to_thread(
            browser,
            "POST",
            f"{second}/api/v1/logout",
            cookies,
            headers={"X-CSRFToken": cookies["csrftoken"]},
        )
        assert status == 204, body
        await watch.closed_for_invalid_credentials(time.monotonic(), "POST logout with the session")
        # The user's other session and token go on.
        await still_streaming([token_socket, kept_socket], alice, bob, second)
    status, _, _ = await asyncio.to_thread(
        browser, "GET", f"{second}/api/v1/conversations", {"sessionid": ended}
    )
    assert status == 401


async def test_console_logout_closes_the_sessions_sockets(
    servers: tuple[str, str], bob: Member
) -> None:
    first, second = servers
    key = await in_thread(session_key, bob.user)
    async with session_socket(first, key) as socket:
        watch = CloseWatch(socket)
        await asyncio.to_thread(form_post, second, "/console/logout/", key, {}, "/console/")
        await watch.closed_for_invalid_credentials(time.monotonic(), "console logout")


async def test_a_session_flushed_in_a_shell_closes_its_sockets(
    servers: tuple[str, str], bob: Member
) -> None:
    key = await in_thread(session_key, bob.user)
    async with session_socket(servers[0], key) as socket:
        watch = CloseWatch(socket)
        committed = await asyncio.to_thread(
            shell,
            "from importlib import import_module; from django.conf import settings; "
            f"s = import_module(settings.SESSION_ENGINE).SessionStore('{key}'); s.load(); "
            "s.flush()",
        )
        await watch.closed_for_invalid_credentials(committed, "session.flush() in a shell")


async def test_a_session_that_expires_closes_its_sockets_at_its_expiry(
    servers: tuple[str, str], bob: Member
) -> None:
    key = await in_thread(session_key, bob.user)
    expiry = timezone.now() + timedelta(seconds=3)
    await in_thread(lambda: Session.objects.filter(session_key=key).update(expire_date=expiry))
    async with session_socket(servers[0], key) as socket:
        watch = CloseWatch(socket)
        at_expiry = time.monotonic() + (expiry - timezone.now()).total_seconds()
        elapsed = await watch.closed_for_invalid_credentials(
            at_expiry, "a session reaching its expiry"
        )
        assert elapsed > -0.1, "closed before its session expired"


async def test_a_session_extended_before_its_expiry_stays_open(
    servers: tuple[str, str], alice: Member, bob: Member
) -> None:
    key = await in_thread(session_key, bob.user)
    soon = timezone.now() + timedelta(seconds=3)
    await in_thread(lambda: Session.objects.filter(session_key=key).update(expire_date=soon))
    async with session_socket(servers[0], key) as socket:
        later = timezone.now() + timedelta(hours=1)
        await in_thread(lambda: Session.objects.filter(session_key=key).update(expire_date=later))
        await asyncio.sleep(max(0.0, (soon - timezone.now()).total_seconds()) + 0.5)
        await still_streaming([socket], alice, bob, servers[1])


async def test_clearsessions_closes_the_expired_sessions_sockets(
    servers: tuple[str, str], bob: Member
) -> None:
    key = await in_thread(session_key, bob.user)
    async with session_socket(servers[0], key) as socket:
        # Expired behind the connection's back (its expiry timer is set for later): the
        # clean-up job's delete is what ends it.
        past = timezone.now() - timedelta(seconds=1)
        await in_thread(lambda: Session.objects.filter(session_key=key).update(expire_date=past))
        watch = CloseWatch(socket)
        await asyncio.to_thread(run_command, "clearsessions")
        await watch.closed_for_invalid_credentials(time.monotonic(), "manage.py clearsessions")


# Tokens


async def test_logout_of_one_token_leaves_the_other_tokens_sockets_open(
    servers: tuple[str, str], alice: Member, bob: Member
) -> None:
    first, second = servers
    _, phone_token = await in_thread(issue_token, bob.user)
    phone = Member(bob.user, phone_token, bob.client)
    async with (
        connect(ws_url(first, query=auth_query(bob))) as laptop_socket,
        connect(ws_url(first, query=auth_query(phone))) as phone_socket,
    ):
        watch = CloseWatch(laptop_socket)
        status, _ = await asyncio.to_thread(http, "POST", f"{second}/api/v1/logout", bob)
        assert status == 204
        await watch.closed_for_invalid_credentials(time.monotonic(), "POST logout with a token")
        await still_streaming([phone_socket], alice, phone, second)


async def test_a_token_that_expires_closes_its_sockets_at_its_expiry(
    servers: tuple[str, str], bob: Member
) -> None:
    expiry = timezone.now() + timedelta(seconds=3)
    await in_thread(lambda: AuthToken.objects.filter(user=bob.user).update(expires_at=expiry))
    async with connect(ws_url(servers[0], query=auth_query(bob))) as socket:
        watch = CloseWatch(socket)
        at_expiry = time.monotonic() + (expiry - timezone.now()).total_seconds()
        elapsed = await watch.closed_for_invalid_credentials(
            at_expiry, "a token reaching its expiry"
        )
        assert elapsed > -0.1, "closed before its token expired"


# Accounts


async def test_deactivating_in_the_admin_closes_every_socket_of_the_user(
    servers: tuple[str, str], admin_user: Any, bob: Member
) -> None:
    first, _ = servers
    async with user_sockets(first, bob) as (token_socket, browser_socket):
        watches = CloseWatch(token_socket), CloseWatch(browser_socket)
        await in_thread(_deactivate_in_admin, admin_user, bob.id)
        returned = time.monotonic()
        await watches[0].closed_for_invalid_credentials(returned, "admin unticks is_active (token)")
        await watches[1].closed_for_invalid_credentials(
            returned, "admin unticks is_active (session)"
        )
    for base in servers:
        status, _ = await asyncio.to_thread(http, "GET", f"{base}/api/v1/conversations", bob)
        assert status == 401


def _deactivate_in_admin(admin_user: Any, user_id: int) -> None:
    """The admin's change form for the user, submitted with "Active" unticked."""
    client = Client()
    client.force_login(admin_user)
    submit_user_change(client, user_id, is_active="")


async def test_deactivating_with_a_queryset_update_in_a_shell_closes_every_socket(
    servers: tuple[str, str], bob: Member
) -> None:
    async with connect(ws_url(servers[0], query=auth_query(bob))) as socket:
        watch = CloseWatch(socket)
        committed = await asyncio.to_thread(
            shell,
            "from accounts.models import User; "
            f"User.objects.filter(pk={bob.id}).update(is_active=False)",
        )
        await watch.closed_for_invalid_credentials(
            committed, "User.objects.update(is_active=False)"
        )


async def test_deleting_the_account_closes_every_socket(
    servers: tuple[str, str], bob: Member
) -> None:
    async with user_sockets(servers[0], bob) as (token_socket, browser_socket):
        watches = CloseWatch(token_socket), CloseWatch(browser_socket)
        committed = await asyncio.to_thread(
            shell, f"from accounts.models import User; User.objects.get(pk={bob.id}).delete()"
        )
        await watches[0].closed_for_invalid_credentials(committed, "the account deleted (token)")
        await watches[1].closed_for_invalid_credentials(committed, "the account deleted (session)")
