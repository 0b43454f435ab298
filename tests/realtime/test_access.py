"""realtime.access: a websocket ends with the credential it was opened with, and only then.

Through the real ASGI application and channel layer (Redis in CI); the end-to-end tests over
two daphne processes are in test_credentials_end_to_end.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.actions import do_logout
from accounts.models import AuthToken, User
from accounts.signals import CredentialsRevoked
from conversations import actions as conversation_actions
from realtime import access
from realtime.access import Credential, revocation_message, session_fingerprint, still_valid
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS
from realtime.consumer import handshake
from tests.conftest import Member
from tests.realtime.conftest import Connect, Socket
from tests.realtime.e2e import session_key

pytestmark = pytest.mark.django_db(transaction=True)

run = database_sync_to_async
INVALID_CREDENTIALS = {"error": "Invalid credentials"}


async def assert_ended(socket: Socket, timeout: float = 3) -> None:
    assert json.loads(await socket.receive_from(timeout=timeout)) == INVALID_CREDENTIALS
    closed = await socket.receive_output(timeout=timeout)
    assert closed == {"type": "websocket.close", "code": CLOSE_INVALID_CREDENTIALS}


async def message_reaches(socket: Socket, alice: Member, member: Member) -> None:
    conversation, _ = await run(conversation_actions.do_create_conversation)(
        alice.user, [member.id]
    )
    await run(conversation_actions.do_send_message)(conversation, alice.user, "still here")
    assert (await socket.next_event())["type"] == "new-conversation"
    assert (await socket.next_event())["data"]["text"] == "still here"


async def open_session_socket(connect: Connect, session_key: str) -> Socket:
    return await connect(
        headers=[
            (b"cookie", f"sessionid={session_key}".encode()),
            (b"origin", b"http://testserver"),
            (b"host", b"testserver"),
        ]
    )


# The wire message and the decision


def test_a_revocation_message_names_sessions_by_fingerprint_only() -> None:
    message = revocation_message(
        CredentialsRevoked(user_id=3, token_ids=(7,), session_keys=("secret-session-key",))
    )
    assert message == {
        "type": access.MESSAGE_TYPE,
        "tokens": [7],
        "sessions": [session_fingerprint("secret-session-key")],
        "every_credential": False,
    }
    assert "secret-session-key" not in json.dumps(message)


@pytest.mark.parametrize(
    ("credential", "revoked", "ends"),
    [
        (Credential(1, token_id=7), CredentialsRevoked(1, token_ids=(7,)), True),
        (Credential(1, token_id=8), CredentialsRevoked(1, token_ids=(7,)), False),
        (Credential(1, session_key="a"), CredentialsRevoked(1, session_keys=("a",)), True),
        (Credential(1, session_key="b"), CredentialsRevoked(1, session_keys=("a",)), False),
        (Credential(1, session_key="a"), CredentialsRevoked(1, token_ids=(7,)), False),
        (Credential(1, token_id=7), CredentialsRevoked(1, every_credential=True), True),
        (Credential(1, session_key="a"), CredentialsRevoked(1, every_credential=True), True),
    ],
)
def test_a_credential_ends_only_by_its_own_revocation(
    credential: Credential, revoked: CredentialsRevoked, ends: bool
) -> None:
    assert credential.ended_by(revocation_message(revoked)) is ends


# still_valid: the database's word


def test_still_valid_reads_a_tokens_expiry_and_refuses_an_ended_one(alice: Member) -> None:
    token = AuthToken.objects.get(user=alice.user)
    assert still_valid(Credential(alice.id, token_id=token.pk)) == token.expires_at
    assert still_valid(Credential(alice.id + 1, token_id=token.pk)) is None  # not theirs
    AuthToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    assert still_valid(Credential(alice.id, token_id=token.pk)) is None


def test_still_valid_refuses_the_token_of_an_inactive_user(alice: Member) -> None:
    token = AuthToken.objects.get(user=alice.user)
    User.objects.filter(pk=alice.id).update(is_active=False)
    assert AuthToken.objects.filter(pk=token.pk).exists()  # deactivation keeps the row
    assert still_valid(Credential(alice.id, token_id=token.pk)) is None


def test_still_valid_reads_a_sessions_expiry_and_verifies_its_user(
    alice: Member, bob: Member
) -> None:
    key = session_key(alice.user)
    expiry = Session.objects.get(session_key=key).expire_date
    assert still_valid(Credential(alice.id, session_key=key)) == expiry
    assert still_valid(Credential(bob.id, session_key=key)) is None
    assert still_valid(Credential(alice.id, session_key="no-such-session")) is None
    # A password changed since: Django's auth hash no longer verifies the session.
    User.objects.filter(pk=alice.id).update(password="pbkdf2_sha256$1$x$y")
    assert still_valid(Credential(alice.id, session_key=key)) is None


# The consumer


def _log_out(user: User) -> None:
    do_logout(AuthToken.objects.get(user=user))


def _deactivate(user: User) -> None:
    user.is_active = False
    user.save()


def _expire(user: User) -> None:
    # Not a revocation (no message is sent): only the second read can see it.
    AuthToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.parametrize("end", [_log_out, _deactivate, _expire])
async def test_a_credential_ended_during_the_handshake_refuses_it(
    connect: Connect, bob: Member, monkeypatch: pytest.MonkeyPatch, end: Any, settings: Any
) -> None:
    """Ended after the handshake read the token and before it joined the user's group:
    a revocation's message went out before the connection could hear it, so only the
    second read after the join can catch it (the in-memory layer's credential watch, which
    would catch it later, is off)."""
    settings.GLEEPOST = {**getattr(settings, "GLEEPOST", {}), "CREDENTIAL_RECHECK_SECS": 0}
    take_slot = handshake.take_slot

    async def revoke_then_take_slot(*args: Any) -> Any:
        await run(end)(await run(User.objects.get)(pk=bob.id))
        return await take_slot(*args)

    monkeypatch.setattr(handshake, "take_slot", revoke_then_take_slot)
    socket = await connect(bob)
    await assert_ended(socket)


async def test_a_session_socket_ends_with_its_session_only(
    connect: Connect, alice: Member, bob: Member
) -> None:
    ended, kept = await run(session_key)(bob.user), await run(session_key)(bob.user)
    ended_socket = await open_session_socket(connect, ended)
    kept_socket = await open_session_socket(connect, kept)
    token_socket = await connect(bob)
    await run(lambda: Session.objects.filter(session_key=ended).delete())()
    await assert_ended(ended_socket)
    await message_reaches(kept_socket, alice, bob)
    await token_socket.next_event()  # the same new-conversation
    assert (await token_socket.next_event())["data"]["text"] == "still here"


async def test_every_socket_of_a_deactivated_user_ends(connect: Connect, bob: Member) -> None:
    token_socket = await connect(bob)
    session_socket = await open_session_socket(connect, await run(session_key)(bob.user))

    def deactivate() -> None:
        user = User.objects.get(pk=bob.id)
        user.is_active = False
        user.save()

    await run(deactivate)()
    await assert_ended(token_socket)
    await assert_ended(session_socket)


async def test_a_socket_ends_when_its_token_expires(connect: Connect, bob: Member) -> None:
    soon = timezone.now() + timedelta(seconds=1.5)
    await run(lambda: AuthToken.objects.filter(user=bob.user).update(expires_at=soon))()
    socket = await connect(bob)
    await socket.assert_silent(0.5)  # not before its expiry
    await assert_ended(socket, timeout=5)


async def test_a_socket_whose_session_was_extended_stays_open_past_the_old_expiry(
    connect: Connect, alice: Member, bob: Member
) -> None:
    key = await run(session_key)(bob.user)
    soon = timezone.now() + timedelta(seconds=1.5)
    await run(lambda: Session.objects.filter(session_key=key).update(expire_date=soon))()
    socket = await open_session_socket(connect, key)
    later = timezone.now() + timedelta(hours=1)
    await run(lambda: Session.objects.filter(session_key=key).update(expire_date=later))()
    await socket.assert_silent(2.5)  # the old expiry passed: read again, and still valid
    await message_reaches(socket, alice, bob)


async def test_another_users_revocation_ends_nothing(
    connect: Connect, alice: Member, bob: Member
) -> None:
    socket = await connect(bob)
    await run(do_logout)(await run(AuthToken.objects.get)(user=alice.user))
    await message_reaches(socket, alice, bob)


def test_still_valid_writes_nothing_after_a_secret_key_rotation(
    alice: Member, settings: Any
) -> None:
    """A session signed with a key now in SECRET_KEY_FALLBACKS is still the user's: Django's
    own reading rotates it on the browser's next HTTP request, which can set the new cookie.
    Read from a websocket, which cannot, it must stay as it is: rotated there, the browser's
    cookie would name a deleted session (logged out) and the socket would end with it."""
    key = session_key(alice.user)
    before = Session.objects.get(session_key=key)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a new secret key, rotated in " + "x" * 40
    assert still_valid(Credential(alice.id, session_key=key)) == before.expire_date
    after = Session.objects.get(session_key=key)
    assert (after.session_data, after.expire_date) == (before.session_data, before.expire_date)
    assert Session.objects.count() == 1


def test_still_valid_refuses_a_session_of_another_secret_and_leaves_it_to_django(
    alice: Member, settings: Any
) -> None:
    """Signed with a key that is neither SECRET_KEY nor a fallback: not the user's any more.
    The reading ends the connection and writes nothing (the next HTTP request flushes it)."""
    key = session_key(alice.user)
    settings.SECRET_KEY = "an unrelated secret key " + "y" * 40
    assert still_valid(Credential(alice.id, session_key=key)) is None


async def test_a_session_of_a_rotated_secret_key_connects_and_is_left_as_it_was(
    connect: Connect, alice: Member, bob: Member, settings: Any
) -> None:
    """Signed with a key now in SECRET_KEY_FALLBACKS, the session is still the user's (Django's
    rule): the handshake accepts it and writes nothing; the browser's next HTTP request rotates
    it, as only a response can."""
    key = await run(session_key)(bob.user)
    before = await run(Session.objects.get)(session_key=key)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a new secret key, rotated in " + "x" * 40
    socket = await open_session_socket(connect, key)
    await message_reaches(socket, alice, bob)
    after = await run(Session.objects.get)(session_key=key)
    assert after.session_data == before.session_data
