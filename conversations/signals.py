"""Domain signals of conversations: one per fact a client may need to hear about.

Each signal carries one frozen dataclass, defined beside it and named for the fact, as its only
argument (``message_sent.send(sender=Message, sent=MessageSent(...))``). They are sent inside the
transaction that made the change, as its last step. A receiver that talks to the outside world
(the realtime layer) must defer that work with ``transaction.on_commit`` so a rolled-back change
announces nothing. The payloads hold the objects the action already has, not copies: the message
send is a benchmarked hot path (bench/README.md, "POST a message").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.dispatch import Signal

from conversations.models import Conversation, Message


@dataclass(frozen=True)
class ConversationCreated:
    """A new conversation was started; ``user_ids`` are everyone placed in it (its creator
    first). Not sent when an existing regular conversation is returned instead."""

    conversation: Conversation
    user_ids: Sequence[int]


@dataclass(frozen=True)
class ParticipantsAdded:
    """Users were placed in an existing conversation; ``user_ids`` are only the newcomers
    (someone who left a regular conversation and came back counts as one), and
    ``existing_user_ids`` everyone who was in it already (who added them among them), read
    under the conversation's lock."""

    conversation: Conversation
    user_ids: Sequence[int]
    existing_user_ids: Sequence[int]


@dataclass(frozen=True)
class ParticipantLeft:
    """``user_id`` left a regular conversation: they get none of its events from now on.
    ``remaining_user_ids`` are the participants still in it, read under the conversation's
    lock."""

    conversation: Conversation
    user_id: int
    remaining_user_ids: Sequence[int]


@dataclass(frozen=True)
class MessageSent:
    """A message was posted. ``read_markers`` maps the user id of everyone in the conversation
    as it was sent (its recipients, the sender included) to their last read message id, read
    under the conversation's lock."""

    message: Message
    read_markers: Mapping[int, int]


@dataclass(frozen=True)
class MessagesRead:
    """``user_id``'s read marker moved forward to ``last_read`` (never sent when it did not)."""

    conversation: Conversation
    user_id: int
    last_read: int


@dataclass(frozen=True)
class ConversationEnded:
    """A live conversation ended: by a participant, an admin or its expiry. Sent once."""

    conversation: Conversation


@dataclass(frozen=True)
class ConversationMadeRegular:
    """A live conversation became a regular one, which never expires."""

    conversation: Conversation


# Sent with created=ConversationCreated(...) by do_create_conversation.
conversation_created = Signal()
# Sent with added=ParticipantsAdded(...) by do_add_participants.
participants_added = Signal()
# Sent with left=ParticipantLeft(...) by do_leave_conversation.
participant_left = Signal()
# Sent with sent=MessageSent(...) by do_send_message.
message_sent = Signal()
# Sent with read=MessagesRead(...) by do_mark_read.
messages_read = Signal()
# Sent with ended=ConversationEnded(...) by do_end_conversation.
conversation_ended = Signal()
# Sent with made_regular=ConversationMadeRegular(...) by do_make_regular.
conversation_made_regular = Signal()
