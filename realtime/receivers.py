"""Who hears about what: the domain signals, turned into events for the right groups.

Each receiver decides the recipients inside the transaction that made the change (so they match
the state the change produced), builds the event once, and publishes it after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction

from accounts.signals import CredentialsRevoked, PresenceChanged
from conversations.models import Conversation, Participant
from conversations.selectors import co_participant_ids
from conversations.signals import (
    ConversationCreated,
    ConversationEnded,
    ConversationMadeRegular,
    MessageSent,
    MessagesRead,
    ParticipantLeft,
    ParticipantsAdded,
)
from notifications.signals import NotificationCreated
from posts.signals import (
    CommentAdded,
    NetworkMemberRemoved,
    PostCreated,
    PostDeleted,
    PostViewsChanged,
)
from realtime import access, events
from realtime.groups import network_group, post_group, user_group
from realtime.publish import publish_on_commit, publish_to_streams_on_commit, send_control_on_commit
from realtime.view_counts import view_counts
from videos.signals import VideoReady

logger = logging.getLogger(__name__)


def _participants(conversation_id: int) -> list[int]:
    return list(
        Participant.objects.active()
        .filter(conversation_id=conversation_id)
        .values_list("user_id", flat=True)
    )


def _guarded(build: Callable[[], None], what: str) -> None:
    # A failure to build or record an event must not fail the change that caused it: the work
    # runs in a savepoint, so a database error inside it leaves the outer transaction usable.
    try:
        with transaction.atomic():
            build()
    except Exception:
        logger.exception("could not build the %s event", what)


def on_message_sent(sender: Any, sent: MessageSent, **kwargs: Any) -> None:
    # The sender read the participants under the conversation's lock: they are the recipients.
    _guarded(
        lambda: publish_to_streams_on_commit(
            events.message_event(sent.message, sent.read_markers), sent.read_markers
        ),
        "message",
    )


def on_messages_read(sender: Any, read: MessagesRead, **kwargs: Any) -> None:
    conversation_id = read.conversation.pk
    _guarded(
        lambda: publish_to_streams_on_commit(
            events.read_event(conversation_id, read.user_id, read.last_read),
            _participants(conversation_id),
        ),
        "read",
    )


def on_conversation_created(sender: Any, created: ConversationCreated, **kwargs: Any) -> None:
    _tell_placed_in(created.conversation, created.user_ids)


def on_participants_added(sender: Any, added: ParticipantsAdded, **kwargs: Any) -> None:
    # The newcomers are "placed in a new conversation"; who was in it already is told its new
    # list of participants instead (each gets one of the two, never both).
    conversation = added.conversation
    _tell_placed_in(conversation, added.user_ids)
    _tell_changed(conversation, added.existing_user_ids)
    _conversation_changed(conversation.pk, [*added.existing_user_ids, *added.user_ids])


def _tell_placed_in(conversation: Conversation, user_ids: Iterable[int]) -> None:
    """``new-conversation`` to each of ``user_ids``, who were just placed in ``conversation``."""
    _guarded(
        lambda: publish_to_streams_on_commit(events.new_conversation_event(conversation), user_ids),
        "new-conversation",
    )


def on_participant_left(sender: Any, left: ParticipantLeft, **kwargs: Any) -> None:
    # No event: rest-api.md says the others are not notified of a leave. But nobody's typing
    # may reach who left any more, nor theirs the others.
    _conversation_changed(left.conversation.pk, [*left.remaining_user_ids, left.user_id])


def _tell_changed(conversation: Conversation, user_ids: Iterable[int]) -> None:
    """``changed-conversation`` to each of ``user_ids``, who are in ``conversation`` as it is
    now (its ``data`` lists the participants as of the change)."""
    _guarded(
        lambda: publish_to_streams_on_commit(
            events.changed_conversation_event(conversation), user_ids
        ),
        "changed-conversation",
    )


def on_conversation_ended(sender: Any, ended: ConversationEnded, **kwargs: Any) -> None:
    conversation = ended.conversation
    _guarded(
        lambda: publish_to_streams_on_commit(
            events.ended_conversation_event(conversation), _participants(conversation.pk)
        ),
        "ended-conversation",
    )
    _conversation_changed(conversation.pk)


def _conversation_changed(conversation_id: int, user_ids: Iterable[int] | None = None) -> None:
    """The connections of ``user_ids`` (by default the participants, read now) forget what
    they read about the conversation to decide typing (who is in it, whether it is open): the
    change applies at once rather than when their copy expires."""
    _guarded(
        lambda: send_control_on_commit(
            [
                user_group(u)
                for u in (_participants(conversation_id) if user_ids is None else user_ids)
            ],
            {"type": "realtime.conversation_changed", "conversation": conversation_id},
        ),
        "conversation-changed control",
    )


def on_conversation_made_regular(
    sender: Any, made_regular: ConversationMadeRegular, **kwargs: Any
) -> None:
    conversation = made_regular.conversation
    _guarded(
        lambda: publish_to_streams_on_commit(
            events.changed_conversation_event(conversation), _participants(conversation.pk)
        ),
        "changed-conversation",
    )


def on_notification_created(sender: Any, created: NotificationCreated, **kwargs: Any) -> None:
    notification = created.notification
    _guarded(
        lambda: publish_to_streams_on_commit(
            events.notification_event(notification), [notification.recipient_id]
        ),
        "notification",
    )


def on_video_ready(sender: Any, ready: VideoReady, **kwargs: Any) -> None:
    video = ready.video
    _guarded(
        lambda: publish_to_streams_on_commit(events.video_ready_event(video), [video.owner_id]),
        "video-ready",
    )


def on_post_views_changed(sender: Any, changed: PostViewsChanged, **kwargs: Any) -> None:
    # Counts are coalesced (at most one event per post per second), so they go to the
    # coalescer after commit rather than straight to the channel layer.
    snapshot = dict(changed.counts)
    transaction.on_commit(lambda: view_counts.changed(snapshot))


def on_post_created(sender: Any, created: PostCreated, **kwargs: Any) -> None:
    post = created.post
    _guarded(
        lambda: publish_on_commit(events.post_event(post), [network_group(post.network_id)]),
        "post",
    )


def on_comment_added(sender: Any, added: CommentAdded, **kwargs: Any) -> None:
    comment = added.comment
    _guarded(
        lambda: publish_on_commit(events.comment_event(comment), [post_group(comment.post_id)]),
        "comment",
    )


def on_presence_changed(sender: Any, changed: PresenceChanged, **kwargs: Any) -> None:
    # Recipients as of the change: whoever shares an open conversation with the user now.
    _guarded(
        lambda: publish_on_commit(
            events.presence_event(changed.user_id, changed.form, changed.at),
            [user_group(u) for u in sorted(co_participant_ids(changed.user_id))],
        ),
        "presence",
    )


# Access that ends while connected: the connections concerned are told to let go.


def on_post_deleted(sender: Any, deleted: PostDeleted, **kwargs: Any) -> None:
    post_id = deleted.post.pk
    send_control_on_commit(
        [post_group(post_id)], {"type": "realtime.post_removed", "post": post_id}
    )


def on_network_member_removed(sender: Any, removed: NetworkMemberRemoved, **kwargs: Any) -> None:
    send_control_on_commit(
        [user_group(removed.user_id)],
        {"type": "realtime.network_left", "network": removed.network.pk},
    )


def on_credentials_revoked(sender: Any, revoked: CredentialsRevoked, **kwargs: Any) -> None:
    # The user's group reaches every connection of the user on every process; each one
    # decides whether it holds one of the credentials (realtime.access).
    send_control_on_commit([user_group(revoked.user_id)], access.revocation_message(revoked))


def connect_receivers() -> None:
    """Connect every receiver once (dispatch_uid makes a second call harmless)."""
    from accounts import signals as account_signals
    from conversations import signals as conversation_signals
    from notifications import signals as notification_signals
    from posts import signals as post_signals
    from videos import signals as video_signals

    pairs: list[tuple[Any, Callable[..., None]]] = [
        (conversation_signals.message_sent, on_message_sent),
        (conversation_signals.messages_read, on_messages_read),
        (conversation_signals.conversation_created, on_conversation_created),
        (conversation_signals.participants_added, on_participants_added),
        (conversation_signals.participant_left, on_participant_left),
        (conversation_signals.conversation_ended, on_conversation_ended),
        (conversation_signals.conversation_made_regular, on_conversation_made_regular),
        (notification_signals.notification_created, on_notification_created),
        (video_signals.video_ready, on_video_ready),
        (post_signals.post_views_changed, on_post_views_changed),
        (post_signals.post_created, on_post_created),
        (post_signals.comment_added, on_comment_added),
        (post_signals.post_deleted, on_post_deleted),
        (post_signals.network_member_removed, on_network_member_removed),
        (account_signals.credentials_revoked, on_credentials_revoked),
        (account_signals.presence_changed, on_presence_changed),
    ]
    for signal, receiver in pairs:
        signal.connect(receiver, dispatch_uid=f"realtime.{receiver.__name__}")
