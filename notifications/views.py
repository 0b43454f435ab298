"""Notifications and contact requests over REST (rest-api.md, Notifications)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from accounts.models import User
from gleepost.api import ApiView
from gleepost.conf import gp_settings
from gleepost.errors import bad_request
from gleepost.openapi import error, refusals
from gleepost.params import validated
from notifications.actions import do_accept_contact, do_mark_notifications_seen, do_request_contact
from notifications.models import Notification
from notifications.serializers import (
    AcceptContactSerializer,
    ContactSerializer,
    MarkSeenSerializer,
    NotificationPageSerializer,
    NotificationSerializer,
    RequestContactSerializer,
    contact_data,
)


class NotificationsView(ApiView):
    @extend_schema(
        summary="The caller's notifications, newest first",
        parameters=[NotificationPageSerializer],
        responses=NotificationSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """The caller's notifications, newest first, one page.

        Unseen only unless ``include_seen=true``. ``before`` pages back through older ones;
        ``after`` gives the newest page of those above that id (what arrived since), and older
        ones among them are reached with ``before`` as usual.
        """
        params = validated(request, NotificationPageSerializer)
        notifications = _notifications(
            request_user(request), params["include_seen"], params.get("before"), params.get("after")
        )
        page = notifications[: gp_settings.PAGE_SIZE]
        return Response(NotificationSerializer(page, many=True).data)

    @extend_schema(
        summary="Mark notifications seen",
        request=MarkSeenSerializer,
        responses=NotificationSerializer(many=True),
    )
    def put(self, request: Request) -> Response:
        """Mark every notification up to ``seen`` (an id) seen; 200 the ones still unseen."""
        seen = validated(request, MarkSeenSerializer)["seen"]
        unseen = do_mark_notifications_seen(request_user(request), seen)
        return Response(NotificationSerializer(unseen, many=True).data)


class ContactsView(ApiView):
    @extend_schema(
        summary="Ask a user to become a contact",
        description="Sends that user an `added_you` **notification**. "
        + refusals(
            "user: you cannot add yourself", "user: a contact request between you already exists"
        ),
        request=RequestContactSerializer,
        responses={
            201: ContactSerializer,
            400: error("Oneself, or a request between the two already exists."),
            404: error("No such user: `User not found`."),
        },
    )
    def post(self, request: Request) -> Response:
        """Ask ``user`` to become a contact; 201 ``{"user": user, "accepted": false}``."""
        target_id = validated(request, RequestContactSerializer)["user"]
        contact = do_request_contact(request_user(request), target_id)
        return Response(contact_data(contact, contact.to_user), status=status.HTTP_201_CREATED)


class ContactView(ApiView):
    @extend_schema(
        summary="Accept a contact request",
        description="Sends the requester an `accepted_you` **notification**. "
        + refusals("accepted: the request is already accepted"),
        request=AcceptContactSerializer,
        responses={
            200: ContactSerializer,
            400: error("Not `accepted=true`, or the request is already accepted."),
            404: error("No contact request from that user."),
        },
    )
    def put(self, request: Request, user_id: int) -> Response:
        """Accept the request from ``user_id`` (``accepted=true``); 200 the accepted contact."""
        if validated(request, AcceptContactSerializer)["accepted"] is not True:
            raise bad_request("accepted: must be true")
        contact = do_accept_contact(request_user(request), user_id)
        return Response(contact_data(contact, contact.from_user))


def _notifications(
    user: User, include_seen: bool, before: int | None, after: int | None
) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(recipient=user).select_related("actor")
    if not include_seen:
        notifications = notifications.filter(seen=False)
    if before is not None:
        notifications = notifications.filter(pk__lt=before)
    if after is not None:
        notifications = notifications.filter(pk__gt=after)
    return notifications.order_by("-pk")
