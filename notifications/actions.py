"""Notification and contact state changes (rest-api.md, Notifications)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from gleepost.exceptions import InvalidInput, NotFound
from notifications.models import Contact, Notification
from notifications.signals import NotificationCreated, notification_created
from posts.models import Post


def do_notify(
    recipient: User, type: Notification.Type, actor: User, post: Post | None = None
) -> Notification | None:
    """Notify ``recipient`` that ``actor`` did something; None when they are the same user.

    Nobody is told about their own doing (the spec's "not to oneself"), so callers may pass the
    actor as recipient without checking first: nothing is created and nothing is sent.
    """
    if recipient.pk == actor.pk:
        return None
    with transaction.atomic():
        notification = Notification.objects.create(
            recipient=recipient, type=type, actor=actor, post=post
        )
        notification_created.send(
            sender=Notification, created=NotificationCreated(notification=notification)
        )
    return notification


def do_mark_notifications_seen(user: User, up_to_id: int) -> list[Notification]:
    """Mark ``user``'s notifications with id <= ``up_to_id`` seen; returns the unseen rest."""
    with transaction.atomic():
        Notification.objects.filter(recipient=user, seen=False, pk__lte=up_to_id).update(seen=True)
        return list(
            Notification.objects.filter(recipient=user, seen=False)
            .select_related("actor")
            .order_by("-pk")
        )


def do_request_contact(actor: User, target_user_id: int) -> Contact:
    """Ask ``target_user_id`` to become a contact of ``actor``; they get ``added_you``."""
    if target_user_id == actor.pk:
        raise InvalidInput("user: you cannot add yourself")
    with transaction.atomic():
        # Locking both users, in id order, serialises two requests between the same pair made
        # at once in opposite directions, so at most one of them is created.
        users = {
            user.pk: user
            for user in User.objects.select_for_update()
            .filter(pk__in=[actor.pk, target_user_id], is_active=True)
            .order_by("pk")
        }
        target = users.get(target_user_id)
        if target is None:
            raise NotFound("User not found")
        if _contact_between(actor.pk, target.pk).exists():
            raise InvalidInput("user: a contact request between you already exists")
        try:
            with transaction.atomic():
                contact = Contact.objects.create(from_user=actor, to_user=target)
        except IntegrityError as error:
            raise InvalidInput("user: a contact request between you already exists") from error
        do_notify(target, Notification.Type.ADDED_YOU, actor)
    return contact


def do_accept_contact(actor: User, requester_user_id: int) -> Contact:
    """Accept the pending request from ``requester_user_id``, who gets ``accepted_you``."""
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update()
            .select_related("from_user")
            .filter(from_user_id=requester_user_id, to_user=actor)
            .first()
        )
        if contact is None:
            raise NotFound("No contact request from that user")
        if contact.accepted:
            raise InvalidInput("accepted: the request is already accepted")
        contact.accepted = True
        contact.accepted_at = timezone.now()
        contact.save(update_fields=["accepted", "accepted_at"])
        do_notify(contact.from_user, Notification.Type.ACCEPTED_YOU, actor)
    return contact


def _contact_between(user_id: int, other_id: int) -> QuerySet[Contact]:
    return Contact.objects.filter(
        Q(from_user_id=user_id, to_user_id=other_id) | Q(from_user_id=other_id, to_user_id=user_id)
    )
