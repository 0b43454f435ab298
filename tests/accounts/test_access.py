"""Every way a credential ends announces it once (accounts.access), whatever path ended it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from accounts.access import check_revocation_configured
from accounts.actions import do_logout, do_set_password
from accounts.models import AuthToken, User
from accounts.signals import CredentialsRevoked, credentials_revoked
from accounts.tokens import issue_token
from tests.accounts.admin_pages import submit_user_change
from tests.conftest import Member
from tests.signal_recorder import recording

pytestmark = pytest.mark.django_db


def everything(user: Member) -> CredentialsRevoked:
    return CredentialsRevoked(user_id=user.id, every_credential=True)


def token_ids(user: Member) -> set[int]:
    return set(AuthToken.objects.filter(user=user.user).values_list("pk", flat=True))


def logged_in_client(member: Member) -> tuple[Client, str]:
    client = Client()
    client.force_login(member.user)
    return client, client.session.session_key or ""


# Tokens


def test_logout_ends_that_token_only(alice: Member) -> None:
    first = AuthToken.objects.get(user=alice.user)
    second, _ = issue_token(alice.user)
    with recording(credentials_revoked) as sent:
        do_logout(first)
    assert sent == [CredentialsRevoked(user_id=alice.id, token_ids=(first.pk,))]
    assert token_ids(alice) == {second.pk}


def test_admin_deleting_a_token_ends_it(admin_client: Client, alice: Member) -> None:
    token = AuthToken.objects.get(user=alice.user)
    with recording(credentials_revoked) as sent:
        response = admin_client.post(
            f"/admin/accounts/authtoken/{token.pk}/delete/", {"post": "yes"}, follow=True
        )
    assert response.status_code == 200
    assert sent == [CredentialsRevoked(user_id=alice.id, token_ids=(token.pk,))]


def test_a_queryset_delete_announces_each_token(alice: Member, bob: Member) -> None:
    tokens = {(t.user_id, t.pk) for t in AuthToken.objects.all()}
    with recording(credentials_revoked) as sent:
        AuthToken.objects.all().delete()
    assert {(r.user_id, r.token_ids[0]) for r in sent} == tokens


# Passwords


def test_do_set_password_ends_every_credential(alice: Member) -> None:
    issue_token(alice.user)
    with recording(credentials_revoked) as sent:
        do_set_password(alice.user, "a new long password")
    assert everything(alice) in sent
    assert token_ids(alice) == set()


def test_set_password_and_save_in_a_shell_ends_every_credential(alice: Member) -> None:
    user = User.objects.get(pk=alice.id)
    user.set_password("another long password")
    with recording(credentials_revoked) as sent:
        user.save()
    assert everything(alice) in sent
    assert token_ids(alice) == set()


def test_the_admin_password_form_ends_every_credential(admin_client: Client, alice: Member) -> None:
    with recording(credentials_revoked) as sent:
        response = admin_client.post(
            f"/admin/accounts/user/{alice.id}/password/",
            {
                "password1": "a brand new password",
                "password2": "a brand new password",
                "usable_password": "true",
            },
        )
    assert response.status_code == 302, response.content
    assert everything(alice) in sent
    assert token_ids(alice) == set()
    assert alice.client.get("/api/v1/conversations").status_code == 401


def test_the_admin_disabling_the_password_ends_every_credential(
    admin_client: Client, alice: Member
) -> None:
    with recording(credentials_revoked) as sent:
        response = admin_client.post(
            f"/admin/accounts/user/{alice.id}/password/",
            {"usable_password": "false", "unset-password": "1"},
        )
    assert response.status_code == 302, response.content
    assert everything(alice) in sent
    assert token_ids(alice) == set()


def test_manage_py_changepassword_ends_every_credential(
    alice: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command reads the new password twice from the terminal; the rest of it runs as is.
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "changed by command")
    with recording(credentials_revoked) as sent:
        call_command("changepassword", alice.user.username, stdout=None)
    assert everything(alice) in sent
    assert token_ids(alice) == set()


@override_settings(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
)
def test_a_hash_upgraded_at_login_ends_nothing(alice: Member) -> None:
    User.objects.filter(pk=alice.id).update(password=make_password("same password", None, "md5"))
    user = User.objects.get(pk=alice.id)
    issue_token(user)
    tokens = token_ids(alice)
    with recording(credentials_revoked) as sent:
        assert user.check_password("same password")
    assert User.objects.get(pk=alice.id).password.startswith("pbkdf2_")  # it was upgraded
    assert sent == []
    assert token_ids(alice) == tokens


def test_writing_a_hash_with_update_ends_every_credential(alice: Member) -> None:
    with recording(credentials_revoked) as sent:
        User.objects.filter(pk=alice.id).update(password=make_password("written directly"))
    assert everything(alice) in sent
    assert token_ids(alice) == set()


def test_saving_other_fields_ends_nothing(alice: Member) -> None:
    user = User.objects.get(pk=alice.id)
    user.first_name = "Alice"
    with recording(credentials_revoked) as sent:
        user.save()
        user.save(update_fields=["last_login"])
        User.objects.filter(pk=alice.id).update(first_name="Al")
    assert sent == []
    assert token_ids(alice) != set()


# Deactivation and deletion


def test_deactivating_with_save_ends_every_credential(alice: Member, bob: Member) -> None:
    user = User.objects.get(pk=alice.id)
    user.is_active = False
    with recording(credentials_revoked) as sent:
        user.save()
    assert sent == [everything(alice)]
    assert token_ids(bob) != set()


def test_deactivating_in_the_admin_ends_every_credential(
    admin_client: Client, alice: Member
) -> None:
    with recording(credentials_revoked) as sent:
        submit_user_change(admin_client, alice.id, is_active="")
    assert not User.objects.get(pk=alice.id).is_active
    assert everything(alice) in sent


def test_deactivating_with_update_ends_every_credential_of_those_it_changed(
    alice: Member, bob: Member, carol: Member
) -> None:
    User.objects.filter(pk=carol.id).update(is_active=False)
    with recording(credentials_revoked) as sent:
        User.objects.filter(pk__in=[alice.id, carol.id]).update(is_active=False)
    assert sent == [everything(alice)]  # carol was inactive already


def test_deleting_a_user_ends_every_credential(alice: Member) -> None:
    token = AuthToken.objects.get(user=alice.user)
    with recording(credentials_revoked) as sent:
        User.objects.get(pk=alice.id).delete()
    assert everything(alice) in sent
    assert CredentialsRevoked(user_id=alice.id, token_ids=(token.pk,)) in sent


# Sessions


def test_logging_out_a_session_ends_that_session(alice: Member) -> None:
    client, key = logged_in_client(alice)
    _, other_key = logged_in_client(alice)
    with recording(credentials_revoked) as sent:
        assert client.post("/console/logout/").status_code in {200, 302}
    assert sent == [CredentialsRevoked(user_id=alice.id, session_keys=(key,))]
    assert Session.objects.filter(session_key=other_key).exists()


def test_api_logout_with_a_session_ends_that_session(alice: Member) -> None:
    client, key = logged_in_client(alice)
    logged_out: list[Any] = []

    def on_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        logged_out.append(user)

    user_logged_out.connect(on_logged_out)
    try:
        with recording(credentials_revoked) as sent:
            assert client.post("/api/v1/logout").status_code == 204
    finally:
        user_logged_out.disconnect(on_logged_out)
    assert sent == [CredentialsRevoked(user_id=alice.id, session_keys=(key,))]
    # Django's logout ran whole: its signal named the user, the session row is gone, and the
    # cookie no longer authenticates.
    assert [user.pk for user in logged_out] == [alice.id]
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get(f"/api/v1/user/{alice.id}").status_code == 401


def test_clearsessions_ends_the_expired_sessions(alice: Member) -> None:
    _, key = logged_in_client(alice)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))
    with recording(credentials_revoked) as sent:
        call_command("clearsessions")
    assert sent == [CredentialsRevoked(user_id=alice.id, session_keys=(key,))]


def test_a_session_without_a_user_ends_nothing() -> None:
    client = Client()
    session = client.session
    session["something"] = 1
    session.save()
    with recording(credentials_revoked) as sent:
        Session.objects.all().delete()
    assert sent == []


# Configuration


def test_the_system_check_needs_the_password_hook() -> None:
    assert check_revocation_configured(None) == []
    with override_settings(
        AUTH_PASSWORD_VALIDATORS=[
            {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"}
        ]
    ):
        assert [e.id for e in check_revocation_configured(None)] == ["accounts.E001"]
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies"):
        assert [e.id for e in check_revocation_configured(None)] == ["accounts.E002"]


def test_the_hook_keeps_a_user_session_key(alice: Member) -> None:
    # What _session_deleted reads: Django's own key of the logged-in user in a session.
    _, key = logged_in_client(alice)
    assert Session.objects.get(session_key=key).get_decoded()[SESSION_KEY] == str(alice.id)


def test_deactivating_with_bulk_update_ends_every_credential(alice: Member, bob: Member) -> None:
    users = list(User.objects.filter(pk__in=[alice.id, bob.id]).order_by("pk"))
    users[0].is_active = False
    with recording(credentials_revoked) as sent:
        User.objects.bulk_update(users, ["is_active"])
    assert sent == [CredentialsRevoked(user_id=users[0].pk, every_credential=True)]
