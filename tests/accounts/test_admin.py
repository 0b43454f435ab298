"""Revoking tokens from the admin goes through do_revoke_tokens, like logout."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import AuthToken
from accounts.signals import CredentialsRevoked, credentials_revoked
from tests.conftest import Member
from tests.signal_recorder import recording

pytestmark = pytest.mark.django_db


def test_revoke_action_revokes_and_announces(
    admin_client: Client, alice: Member, bob: Member
) -> None:
    token = AuthToken.objects.get(user=alice.user)
    with recording(credentials_revoked) as sent:
        response = admin_client.post(
            "/admin/accounts/authtoken/",
            {"action": "revoke_tokens", "_selected_action": [str(token.pk)]},
            follow=True,
        )
    assert response.status_code == 200
    assert sent == [CredentialsRevoked(user_id=alice.id, token_ids=(token.pk,))]
    assert not AuthToken.objects.filter(user=alice.user).exists()
    assert AuthToken.objects.filter(user=bob.user).exists()
    assert alice.client.get(f"/api/v1/user/{alice.id}").status_code == 401


def test_token_admin_never_shows_the_hash(admin_client: Client, alice: Member) -> None:
    token = AuthToken.objects.get(user=alice.user)
    page = admin_client.get(f"/admin/accounts/authtoken/{token.pk}/change/")
    assert page.status_code == 200
    assert token.key_hash.encode() not in page.content
    assert alice.token.encode() not in page.content
