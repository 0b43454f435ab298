"""Instances built from hand-written SQL equal the ones the ORM loads, values and types alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from accounts.models import User
from conversations.models import Conversation
from gleepost.extensions import django as rows
from tests.conftest import Member

pytestmark = pytest.mark.django_db


def loaded(model: type[Model], pk: int) -> Model:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {rows.columns(model, 't')} FROM {table} t WHERE t.id = %s", [pk])
        row = cursor.fetchone()
    assert row is not None and len(row) == rows.width(model)
    return rows.instance(model, row)


def values(instance: Model) -> list[tuple[str, object, type]]:
    return [
        (field.attname, getattr(instance, field.attname), type(getattr(instance, field.attname)))
        for field in instance._meta.concrete_fields
    ]


def test_a_user_equals_the_orms(alice: Member) -> None:
    User.objects.filter(pk=alice.id).update(
        last_login=timezone.now(), presence_form="mobile", presence_at=timezone.now()
    )
    built = loaded(User, alice.id)
    assert values(built) == values(User.objects.get(pk=alice.id))
    assert built.date_joined.tzinfo is not None
    assert (built._state.adding, built._state.db) == (False, "default")


@pytest.mark.parametrize("live", [False, True])
def test_a_conversation_equals_the_orms(alice: Member, live: bool) -> None:
    conversation = Conversation.objects.create(
        expiry_time=timezone.now() + timedelta(minutes=10) if live else None, ended=live
    )
    built = loaded(Conversation, conversation.pk)
    assert values(built) == values(Conversation.objects.get(pk=conversation.pk))
    assert built.ended is live


def test_a_condition_selects_what_its_queryset_does(alice: Member, bob: Member) -> None:
    early = Conversation.objects.create(last_activity=timezone.now() - timedelta(days=1))
    Conversation.objects.create(ended=True)
    queryset = Conversation.objects.filter(ended=False, last_activity__lt=timezone.now())
    sql, params = rows.condition(queryset)
    table = Conversation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE {sql}", params)
        found = [pk for (pk,) in cursor.fetchall()]
    assert found == [early.pk] == list(queryset.values_list("pk", flat=True))
    assert params  # the values travel as parameters, not inside the SQL text
