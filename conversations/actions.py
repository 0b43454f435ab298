"""Every change to a conversation goes through here: views, admin, commands and the shell alike.

Each action validates, writes in one transaction, and sends the matching domain signal from
``conversations.signals`` inside that transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from conversations import queries, signals
from conversations.models import Conversation, Message, Participant, active_participant
from gleepost.conf import gp_settings
from gleepost.exceptions import InvalidInput, NotAllowed, NotFound
from posts.permissions import is_member, members_of


def get_conversation_for(user: User, conversation_id: int) -> Conversation:
    """The conversation if ``user`` takes part in it (else NotFound). It only reads: one past
    its expiry reads as ended (``Conversation.has_ended``) until the expiry job ends it."""
    conversation = queries.conversation_of(user.pk, conversation_id)
    if conversation is None:
        raise NotFound("Not found")
    return conversation


def get_conversation_to_change(user: User, conversation_id: int) -> Conversation:
    """``get_conversation_for``, for a request that changes the conversation: one past its
    expiry is ended first, with its event (rest-api.md: "at the latest when next touched")."""
    conversation = get_conversation_for(user, conversation_id)
    if conversation.is_past_expiry and not conversation.ended:
        do_end_conversation(conversation)
        conversation.refresh_from_db()  # as ended, by this call or meanwhile by another
    return conversation


def _existing_users(user_ids: Sequence[int], parameter: str) -> list[User]:
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids, is_active=True)}
    missing = [uid for uid in user_ids if uid not in users]
    if missing:
        raise InvalidInput(f"{parameter}: no such user {missing[0]}")
    return [users[uid] for uid in user_ids]


def _find_regular_conversation(a: User, b: User) -> Conversation | None:
    """The regular conversation whose only participants, both still in it, are ``a`` and ``b``
    (a group conversation of two is not one: it belongs to its network)."""
    return (
        Conversation.objects.filter(expiry_time__isnull=True, group__isnull=True)
        .annotate(
            total=Count("participants", distinct=True),
            present=Count(
                "participants",
                filter=Q(participants__user__in=[a, b]) & active_participant("participants__"),
                distinct=True,
            ),
        )
        .filter(total=2, present=2)
        .order_by("-last_activity")
        .first()
    )


def _require_group_members(network_id: int, users: Sequence[User], parameter: str) -> None:
    members = members_of(network_id, [u.pk for u in users])
    outsiders = [u.pk for u in users if u.pk not in members]
    if outsiders:
        raise InvalidInput(f"{parameter}: user {outsiders[0]} is not a member of the group")


def _new_participants(
    creator: User, participant_ids: Sequence[int], group: int | None
) -> list[User]:
    """The users a new conversation is started with, once the request is checked."""
    if creator.pk in participant_ids:
        raise InvalidInput("participants: must not include yourself")
    if not participant_ids:
        raise InvalidInput("participants: at least 1 user")
    if len(participant_ids) > gp_settings.MAX_CONVERSATION_PARTICIPANTS:
        raise InvalidInput(
            f"participants: at most {gp_settings.MAX_CONVERSATION_PARTICIPANTS} users"
        )
    if group is not None and not is_member(creator.pk, group):
        # The same answer for a network that does not exist and one the creator is not in.
        raise NotFound("Not found")
    others = _existing_users(participant_ids, "participants")
    if group is not None:
        _require_group_members(group, others, "participants")
    return others


def do_create_conversation(
    creator: User,
    participant_ids: Sequence[int],
    *,
    live: bool = False,
    group: int | None = None,
) -> tuple[Conversation, bool]:
    """Start a conversation; returns it and whether it is new.

    With exactly one other participant, ``live`` false and no ``group``, an existing regular
    conversation between the two is returned instead of a new one. With ``group`` (a network
    id) the conversation belongs to that network: the creator and every participant must be
    members of it, and it is always a new conversation.
    """
    others = _new_participants(creator, participant_ids, group)
    with transaction.atomic():
        if len(others) == 1 and not live and group is None:
            existing = _find_regular_conversation(creator, others[0])
            if existing is not None:
                return existing, False
        now = timezone.now()
        conversation = Conversation.objects.create(
            created_at=now,
            last_activity=now,
            expiry_time=(
                now + timedelta(minutes=gp_settings.LIVE_CONVERSATION_MINUTES) if live else None
            ),
            group_id=group,
        )
        users = [creator, *others]
        Participant.objects.bulk_create(
            Participant(conversation=conversation, user=user, joined_at=now) for user in users
        )
        signals.conversation_created.send(
            sender=Conversation,
            created=signals.ConversationCreated(
                conversation=conversation, user_ids=[u.pk for u in users]
            ),
        )
    return conversation, True


def do_add_participants(
    conversation: Conversation, actor: User, user_ids: Sequence[int]
) -> list[int]:
    """Add users to a conversation ``actor`` is in; returns the ids that were newly added.

    A group conversation takes members of its network only."""
    if conversation.has_ended:
        raise NotAllowed("Conversation has ended")
    users = _existing_users(user_ids, "users")
    with transaction.atomic():
        Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
        current = {p.user_id: p for p in Participant.objects.filter(conversation=conversation)}
        active = {uid for uid, p in current.items() if p.is_active}
        if actor.pk not in active:
            raise NotFound("Not found")
        added = [u for u in users if u.pk not in active]
        if conversation.group_id is not None:
            _require_group_members(conversation.group_id, added, "users")
        if len(active) + len(added) > gp_settings.MAX_CONVERSATION_PARTICIPANTS + 1:
            raise InvalidInput(
                f"users: a conversation holds at most "
                f"{gp_settings.MAX_CONVERSATION_PARTICIPANTS + 1} participants"
            )
        now = timezone.now()
        for user in added:
            if user.pk in current:
                # Someone who left a regular conversation comes back, with a fresh read marker.
                Participant.objects.filter(pk=current[user.pk].pk).update(
                    left_at=None, joined_at=now
                )
            else:
                Participant.objects.create(conversation=conversation, user=user, joined_at=now)
        if added:
            signals.participants_added.send(
                sender=Conversation,
                added=signals.ParticipantsAdded(
                    conversation=conversation,
                    user_ids=[u.pk for u in added],
                    existing_user_ids=sorted(active),
                ),
            )
    return [u.pk for u in added]


def do_send_message(conversation: Conversation, sender: User, text: str) -> Message:
    """Post a message; refused in an ended conversation (or one whose expiry has passed)."""
    text = text.strip()
    if not text:
        raise InvalidInput("text: must not be empty")
    if len(text) > gp_settings.MAX_MESSAGE_CHARS:
        raise InvalidInput(f"text: must be at most {gp_settings.MAX_MESSAGE_CHARS} characters")
    if conversation.is_past_expiry and not conversation.ended:
        # End it for real (and announce it) before refusing the message.
        do_end_conversation(conversation)
    with transaction.atomic():
        locked = queries.locked_conversation(conversation.pk)
        if locked is None:
            # Deleted since the caller read it (by an admin): as for any missing conversation.
            raise NotFound("Not found")
        if locked.has_ended:
            raise NotAllowed("Conversation has ended")
        # Read once, under the lock that adding participants takes too: who is in the
        # conversation decides whether the sender may post, the message's "seen" and who
        # hears of it.
        markers = queries.read_markers(locked.pk)
        if sender.pk not in markers:
            raise NotFound("Not found")
        message = queries.add_message(locked, sender, text)
        signals.message_sent.send(
            sender=Message, sent=signals.MessageSent(message=message, read_markers=markers)
        )
    return message


def do_mark_read(conversation: Conversation, user: User, message_id: int) -> bool:
    """Move ``user``'s read marker forward to ``message_id``; True when it moved."""
    if not Message.objects.filter(pk=message_id, conversation=conversation).exists():
        raise InvalidInput("seen: no such message in this conversation")
    with transaction.atomic():
        # A conditional UPDATE: concurrent marks can only move the marker forward, and only
        # the one that moved it announces it.
        moved = (
            Participant.objects.active()
            .filter(conversation=conversation, user=user, last_read__lt=message_id)
            .update(last_read=message_id)
        )
        if moved:
            signals.messages_read.send(
                sender=Conversation,
                read=signals.MessagesRead(
                    conversation=conversation, user_id=user.pk, last_read=message_id
                ),
            )
    return bool(moved)


def do_end_conversation(conversation: Conversation) -> bool:
    """End a live conversation; True when this call ended it, False if it already was."""
    if not conversation.is_live:
        raise InvalidInput("Only a live conversation can be ended")
    with transaction.atomic():
        ended = Conversation.objects.filter(pk=conversation.pk, ended=False).update(ended=True)
        if ended:
            conversation.refresh_from_db()
            signals.conversation_ended.send(
                sender=Conversation, ended=signals.ConversationEnded(conversation=conversation)
            )
    return bool(ended)


def do_make_regular(conversation: Conversation) -> None:
    """Convert a live conversation into a regular one, which never expires."""
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if not locked.is_live:
            raise InvalidInput("Conversation is not live")
        if locked.has_ended:
            raise InvalidInput("Conversation has ended")
        Conversation.objects.filter(pk=locked.pk).update(expiry_time=None)
        conversation.refresh_from_db()
        signals.conversation_made_regular.send(
            sender=Conversation,
            made_regular=signals.ConversationMadeRegular(conversation=conversation),
        )


def do_leave_conversation(conversation: Conversation, user: User) -> None:
    """``user`` leaves a regular conversation: it leaves their list and they get no more events."""
    if conversation.is_live:
        raise InvalidInput("A live conversation is ended, not left")
    with transaction.atomic():
        # The lock adding participants and sending a message take: who remains is read as of
        # this leave, not of an addition committing beside it.
        if queries.locked_conversation(conversation.pk) is None:
            raise NotFound("Not found")
        participants = Participant.objects.active().filter(conversation=conversation)
        if not participants.filter(user=user).update(left_at=timezone.now()):
            raise NotFound("Not found")
        remaining = list(participants.order_by("id").values_list("user_id", flat=True))
        signals.participant_left.send(
            sender=Conversation,
            left=signals.ParticipantLeft(
                conversation=conversation, user_id=user.pk, remaining_user_ids=remaining
            ),
        )


def do_delete_conversation(conversation: Conversation, user: User) -> None:
    """DELETE on a conversation: a live one ends for everyone, a regular one is left by ``user``."""
    if conversation.is_live:
        do_end_conversation(conversation)
    else:
        do_leave_conversation(conversation, user)


# do_end_expired_conversations ends at most this many per call.
EXPIRY_PASS_SIZE = 1000


def do_end_expired_conversations() -> list[int]:
    """End every live conversation whose expiry time has passed; returns their ids."""
    due = Conversation.objects.filter(
        ended=False, expiry_time__isnull=False, expiry_time__lte=timezone.now()
    ).values_list("pk", flat=True)
    ended = []
    for conversation in Conversation.objects.filter(pk__in=list(due[:EXPIRY_PASS_SIZE])):
        if do_end_conversation(conversation):
            ended.append(conversation.pk)
    return ended
