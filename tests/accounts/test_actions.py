"""Account actions: password changes revoke every token and announce it."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.actions import do_set_password
from accounts.models import AuthToken
from accounts.signals import CredentialsRevoked, credentials_revoked
from accounts.tokens import issue_token
from gleepost.exceptions import InvalidInput
from tests.conftest import Member

pytestmark = pytest.mark.django_db


def test_password_change_revokes_every_token_and_announces_it(alice: Member) -> None:
    issue_token(alice.user)
    token_ids = set(AuthToken.objects.filter(user=alice.user).values_list("pk", flat=True))
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    credentials_revoked.connect(receiver)
    try:
        do_set_password(alice.user, "a new long password")
    finally:
        credentials_revoked.disconnect(receiver)
    assert not AuthToken.objects.filter(user=alice.user).exists()
    announced = [call["revoked"] for call in received]
    assert CredentialsRevoked(user_id=alice.id, every_credential=True) in announced
    assert {t for r in announced for t in r.token_ids} == token_ids
    alice.user.refresh_from_db()
    assert alice.user.check_password("a new long password")


def test_weak_password_change_is_refused_and_keeps_tokens(alice: Member) -> None:
    with pytest.raises(InvalidInput):
        do_set_password(alice.user, "short")
    assert AuthToken.objects.filter(user=alice.user).count() == 1
