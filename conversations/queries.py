"""The statements of sending a message, in SQL written once.

Every message sent runs each of them: building them through the ORM cost more than running
them (bench/README.md, "POST a message"). Each returns what its queryset equivalent, named in
its docstring, would; ``gleepost.rows`` turns rows back into model instances.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from accounts.models import User
from conversations.models import Conversation, Message, Participant
from gleepost import rows

CONVERSATIONS = Conversation._meta.db_table
PARTICIPANTS = Participant._meta.db_table
MESSAGES = Message._meta.db_table


def conversation_of(user_id: int, conversation_id: int) -> Conversation | None:
    """``Conversation.objects.filter(pk=…, participants__user=…,
    participants__left_at__isnull=True).first()``: the conversation if the user is in it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.columns(Conversation, 'c')} FROM {CONVERSATIONS} c"
            f" WHERE c.id = %s AND EXISTS (SELECT 1 FROM {PARTICIPANTS} p"
            " WHERE p.conversation_id = c.id AND p.user_id = %s AND p.left_at IS NULL)",
            [conversation_id, user_id],
        )
        row = cursor.fetchone()
    return None if row is None else rows.instance(Conversation, row)


def locked_conversation(conversation_id: int) -> Conversation | None:
    """``Conversation.objects.select_for_update().filter(pk=…).first()``: its row is locked
    until the transaction ends (where the database locks rows at all)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.columns(Conversation, 'c')} FROM {CONVERSATIONS} c"
            f" WHERE c.id = %s{lock}",
            [conversation_id],
        )
        row = cursor.fetchone()
    return None if row is None else rows.instance(Conversation, row)


def read_markers(conversation_id: int) -> dict[int, int]:
    """``{user id: last read}`` of everyone in the conversation who has not left it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT user_id, last_read FROM {PARTICIPANTS}"
            " WHERE conversation_id = %s AND left_at IS NULL",
            [conversation_id],
        )
        return {int(user_id): int(last_read) for user_id, last_read in cursor.fetchall()}


def add_message(conversation: Conversation, sender: User, text: str) -> Message:
    """``Message.objects.create(…)``, and the conversation's last activity moved to its time
    (on ``conversation`` too)."""
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {MESSAGES} (conversation_id, by_id, text, "timestamp")'
            " VALUES (%s, %s, %s, %s) RETURNING id",
            [conversation.pk, sender.pk, text, at],
        )
        (message_id,) = cursor.fetchone()
        cursor.execute(
            f"UPDATE {CONVERSATIONS} SET last_activity = %s WHERE id = %s", [at, conversation.pk]
        )
    values = {
        "id": int(message_id),
        "conversation_id": conversation.pk,
        "by_id": sender.pk,
        "text": text,
        "timestamp": now,
    }
    fields = Message._meta.concrete_fields
    message = Message.from_db(
        connection.alias, [f.attname for f in fields], [values[f.attname] for f in fields]
    )
    message.conversation = conversation
    message.by = sender
    conversation.last_activity = now
    return message
