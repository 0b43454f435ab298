"""The statements of sending a message, in SQL written once.

Every message sent runs each of them: building them through the ORM cost more than running
them. Writing them here took a message POST from 5.6 to 3.6 ms of CPU with 10 participants on
PostgreSQL, and from 5.5 to 3.3 on SQLite (bench/README.md, "POST a message", "the send's
statements in SQL written once"). Each returns what its queryset equivalent, named in its
docstring, would; gleepost.extensions.django turns rows back into model instances. Who counts as a
participant is not written here: ``_active_participant`` compiles ``Participant.objects.active()``.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection
from django.db.models import Field
from django.utils import timezone

from accounts.models import User
from conversations.models import Conversation, Message, Participant
from gleepost.extensions import django as orm

CONVERSATIONS = Conversation._meta.db_table
PARTICIPANTS = Participant._meta.db_table
MESSAGES = Message._meta.db_table


def _active_participant() -> tuple[str, list[Any]]:
    """``Participant.objects.active()``'s condition in SQL, its columns named by PARTICIPANTS."""
    return _active_participant_on(connection.vendor)


@functools.cache
def _active_participant_on(vendor: str) -> tuple[str, list[Any]]:
    return orm.condition(Participant.objects.active())


def conversation_of(user_id: int, conversation_id: int) -> Conversation | None:
    """``Conversation.objects.filter(active_participant("participants__"), pk=…,
    participants__user=…).first()``: the conversation if the user is in it."""
    active, active_params = _active_participant()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {orm.columns(Conversation, 'c')} FROM {CONVERSATIONS} c"
            f" WHERE c.id = %s AND EXISTS (SELECT 1 FROM {PARTICIPANTS}"
            f" WHERE {PARTICIPANTS}.conversation_id = c.id AND {PARTICIPANTS}.user_id = %s"
            f" AND {active})",
            [conversation_id, user_id, *active_params],
        )
        row = cursor.fetchone()
    return None if row is None else orm.instance(Conversation, row)


def locked_conversation(conversation_id: int) -> Conversation | None:
    """``Conversation.objects.select_for_update().filter(pk=…).first()``: its row is locked
    until the transaction ends (where the database locks rows at all)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {orm.columns(Conversation, 'c')} FROM {CONVERSATIONS} c WHERE c.id = %s{lock}",
            [conversation_id],
        )
        row = cursor.fetchone()
    return None if row is None else orm.instance(Conversation, row)


def read_markers(conversation_id: int) -> dict[int, int]:
    """``{user id: last read}`` of the conversation's active participants."""
    active, active_params = _active_participant()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT user_id, last_read FROM {PARTICIPANTS}"
            f" WHERE conversation_id = %s AND {active}",
            [conversation_id, *active_params],
        )
        return {int(user_id): int(last_read) for user_id, last_read in cursor.fetchall()}


@functools.cache
def _message_insert(vendor: str) -> tuple[str, tuple[Field[Any, Any], ...]]:
    """The INSERT of a message, naming every column of Message but its id, and those fields:
    a new field with a default or null needs no change here."""
    fields = tuple(f for f in orm.concrete_fields(Message) if not f.primary_key)
    quote = orm.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    pk = quote(Message._meta.pk.column)
    return f"INSERT INTO {MESSAGES} ({columns}) VALUES ({placeholders}) RETURNING {pk}", fields


def add_message(conversation: Conversation, sender: User, text: str) -> Message:
    """``Message.objects.create(…)``, and the conversation's last activity moved to its time
    (on ``conversation`` too)."""
    now = timezone.now()
    insert, fields = _message_insert(connection.vendor)
    values = {f.attname: f.get_default() for f in fields}
    values.update(conversation_id=conversation.pk, by_id=sender.pk, text=text, timestamp=now)
    with connection.cursor() as cursor:
        cursor.execute(insert, [f.get_db_prep_save(values[f.attname], connection) for f in fields])
        (message_id,) = cursor.fetchone()
        cursor.execute(
            f"UPDATE {CONVERSATIONS} SET last_activity = %s WHERE id = %s",
            [orm.database_datetime(now), conversation.pk],
        )
    values[Message._meta.pk.attname] = int(message_id)
    attnames = [f.attname for f in orm.concrete_fields(Message)]
    message = Message.from_db(connection.alias, attnames, [values[name] for name in attnames])
    message.conversation = conversation
    message.by = sender
    conversation.last_activity = now
    return message
