"""The notifications admin pages load, search and filter."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.test import Client

from notifications.actions import do_request_contact
from notifications.models import Contact, Notification

if TYPE_CHECKING:
    from tests.conftest import Member

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(alice: Member, bob: Member) -> Contact:
    """alice's request to bob, which also notified bob."""
    return do_request_contact(alice.user, bob.id)


@pytest.mark.parametrize("model", ["notification", "contact"])
def test_changelist_loads(admin_client: Client, contact: Contact, model: str) -> None:
    response = admin_client.get(f"/admin/notifications/{model}/")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


@pytest.mark.parametrize("model", ["notification", "contact"])
def test_changelist_searches_by_username(
    admin_client: Client, contact: Contact, model: str
) -> None:
    found = admin_client.get(f"/admin/notifications/{model}/", {"q": "alice"})
    missing = admin_client.get(f"/admin/notifications/{model}/", {"q": "nobody"})
    assert found.context["cl"].result_count == 1
    assert missing.context["cl"].result_count == 0


def test_notification_changelist_filters_by_type_and_seen(
    admin_client: Client, contact: Contact
) -> None:
    url = "/admin/notifications/notification/"
    assert admin_client.get(url, {"type__exact": "added_you"}).context["cl"].result_count == 1
    assert admin_client.get(url, {"type__exact": "liked"}).context["cl"].result_count == 0
    assert admin_client.get(url, {"seen__exact": "1"}).context["cl"].result_count == 0


def test_change_pages_load(admin_client: Client, contact: Contact) -> None:
    notification = Notification.objects.get()
    for model, pk in (("notification", notification.pk), ("contact", contact.pk)):
        response = admin_client.get(f"/admin/notifications/{model}/{pk}/change/")
        assert response.status_code == 200
