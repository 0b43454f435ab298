"""realtime.credential_watch: with a channel layer that cannot carry a revocation from another
process, each process re-reads the credentials its connections hold and ends those that ended.

The ends here send no signal (an expiry moved earlier, a raw DELETE): only the watch can see
them, as it sees those made in another process (test_credential_watch_end_to_end.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from accounts.models import AuthToken, User
from accounts.tokens import issue_token
from realtime.access import Credential, ended_among
from realtime.credential_watch import applies, credential_watch
from tests.conftest import Member
from tests.realtime.conftest import Connect, Socket
from tests.realtime.e2e import session_key
from tests.realtime.test_access import assert_ended, message_reaches, open_session_socket

pytestmark = pytest.mark.django_db(transaction=True)

run = database_sync_to_async
IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture(autouse=True)
def watched(settings: Any) -> Iterator[Callable[[float], None]]:
    """The in-memory layer (CI's is Redis), re-read every 0.1 s unless a test sets otherwise."""
    settings.CHANNEL_LAYERS = IN_MEMORY

    def every(seconds: float) -> None:
        settings.GLEEPOST = {
            **getattr(settings, "GLEEPOST", {}),
            "CREDENTIAL_RECHECK_SECS": seconds,
        }

    every(0.1)
    yield every
    assert credential_watch.held == 0, "a closed connection's credential is still watched"


def expire_now(token_id: int) -> None:
    """End a token without a signal: a queryset update of its expiry."""
    AuthToken.objects.filter(pk=token_id).update(expires_at=timezone.now() - timedelta(seconds=1))


# ended_among: the database's word on many credentials


def test_ended_among_reads_every_token_in_one_query(
    alice: Member, bob: Member, carol: Member, django_assert_num_queries: Any
) -> None:
    valid = Credential(alice.id, token_id=AuthToken.objects.get(user=alice.user).pk)
    expired = Credential(bob.id, token_id=AuthToken.objects.get(user=bob.user).pk)
    expire_now(expired.token_id or 0)
    inactive = Credential(carol.id, token_id=AuthToken.objects.get(user=carol.user).pk)
    User.objects.filter(pk=carol.id).update(is_active=False)
    not_theirs = Credential(bob.id, token_id=valid.token_id)
    with django_assert_num_queries(1):
        ended = ended_among([valid, expired, inactive, not_theirs])
    assert ended == {expired, inactive, not_theirs}


def test_ended_among_reads_sessions_as_django_does(alice: Member, bob: Member) -> None:
    valid = Credential(alice.id, session_key=session_key(alice.user))
    deleted = Credential(alice.id, session_key=session_key(alice.user))
    Session.objects.filter(session_key=deleted.session_key).delete()
    rehashed = Credential(bob.id, session_key=session_key(bob.user))
    # A password changed since: Django's auth hash no longer verifies the session.
    User.objects.filter(pk=bob.id).update(password="pbkdf2_sha256$1$x$y")
    assert ended_among([valid, deleted, rehashed]) == {deleted, rehashed}


# The watch, through the real consumer


async def test_a_token_ended_without_a_signal_closes_its_sockets_only(
    connect: Connect, alice: Member, bob: Member
) -> None:
    _, other_token = await run(issue_token)(bob.user)
    ended_sockets = [await connect(bob), await connect(bob)]
    kept_socket = await connect(query=f"id={bob.id}&token={other_token}")
    ended_id = (await run(AuthToken.objects.filter(user=bob.user).order_by("pk").first)()).pk
    await run(expire_now)(ended_id)
    for socket in ended_sockets:
        await assert_ended(socket)
    await message_reaches(kept_socket, alice, bob)


async def test_a_session_deleted_without_a_signal_closes_its_sockets_only(
    connect: Connect, alice: Member, bob: Member
) -> None:
    ended, kept = await run(session_key)(bob.user), await run(session_key)(bob.user)
    ended_socket = await open_session_socket(connect, ended)
    kept_socket = await open_session_socket(connect, kept)

    def delete_with_sql() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM django_session WHERE session_key = %s", [ended])

    await run(delete_with_sql)()
    await assert_ended(ended_socket)
    await message_reaches(kept_socket, alice, bob)


async def test_turned_off_such_an_end_goes_unseen(
    connect: Connect, bob: Member, watched: Callable[[float], None]
) -> None:
    """What the tests above see is the watch's doing: without it nothing closes."""
    watched(0)
    socket = await connect(bob)
    assert credential_watch.held == 0
    await run(expire_now)((await run(AuthToken.objects.get)(user=bob.user)).pk)
    await socket.assert_silent(0.5)


async def test_the_watch_holds_each_credential_once_and_lets_go_on_close(
    connect: Connect, alice: Member, bob: Member
) -> None:
    sockets: list[Socket] = [await connect(alice), await connect(alice), await connect(bob)]
    assert credential_watch.held == 2
    for socket in sockets:
        await socket.disconnect()
    assert credential_watch.held == 0


def test_a_layer_that_crosses_processes_is_not_watched(settings: Any) -> None:
    assert applies()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime.layers.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]},
        }
    }
    assert not applies()
