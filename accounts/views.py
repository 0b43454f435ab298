"""``register``, ``login``, ``logout`` and ``user/{id}`` (rest-api.md, Accounts)."""

from __future__ import annotations

from django.contrib.auth import logout as session_logout
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import throttling
from accounts.actions import do_login, do_logout, do_register
from accounts.authentication import request_user
from accounts.models import AuthToken, User
from accounts.serializers import LoginSerializer, RegisterSerializer, UserDetailSerializer
from conversations.selectors import shares_open_conversation
from gleepost.api import ApiView
from gleepost.openapi import error, refusals
from gleepost.params import validated

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds until the next attempt can succeed.",
)


class RegisterView(ApiView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Create an account",
        description=refusals(
            "username: already taken",
            "email: already registered",
            "username or email already taken",
            "email: not a valid email address",
            "username: <Django's username rules>",
            "pass: <Django's password rules>",
        ),
        request=RegisterSerializer,
        parameters=[RETRY_AFTER],
        responses={
            201: RegisterSerializer,
            400: error("A taken email or username, a weak password, a bad email."),
            429: error("Too many registrations from this address; see `Retry-After`."),
        },
    )
    def post(self, request: Request) -> Response:
        throttling.check_register_ip(request)
        params = validated(request, RegisterSerializer)
        user = do_register(params["username"], params["email"], params["pass"])
        return Response(RegisterSerializer(user).data, status=201)


class LoginView(ApiView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Log in: get a token",
        description=refusals("Bad email/password"),
        request=LoginSerializer,
        parameters=[RETRY_AFTER],
        responses={
            200: LoginSerializer,
            400: error("`Bad email/password`, or a parameter missing."),
            429: error("Too many attempts; see `Retry-After`. Checked before the password."),
        },
    )
    def post(self, request: Request) -> Response:
        """A token for the right email and password; rate-limited before either is checked."""
        throttling.check_login_ip(request)
        params = validated(request, LoginSerializer)
        email = params["email"]
        throttling.check_login_account(request, email)
        result = do_login(email, params["pass"])
        if result is None:
            return Response({"error": "Bad email/password"}, status=400)
        throttling.login_succeeded(request, email)
        token, raw = result
        return Response(LoginSerializer(token, context={"value": raw}).data)


class LogoutView(ApiView):
    @extend_schema(
        summary="Log out",
        # The close is named, not numbered: accounts does not import realtime (STYLE.md), and
        # the number is in the protocol's one table of close codes.
        description="Revokes the token used at once; every websocket opened with it closes with "
        "the invalid-credentials code (`x-close-codes` of /api/v1/asyncapi.yaml; "
        "docs/websocket-protocol.md, Close codes). With a session, ends the session.",
        request=None,
        responses={204: OpenApiResponse(description="Logged out.")},
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AuthToken):
            do_logout(request.auth)
        else:
            # Django's logout reads the user and the session and resets the user: DRF's request
            # gives both, and its user setter resets the wrapped request's too.
            session_logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserView(ApiView):
    @extend_schema(summary="A user", responses=UserDetailSerializer)
    def get(self, request: Request, user_id: int) -> Response:
        user = get_object_or_404(User, pk=user_id, is_active=True)
        caller = request_user(request)
        # Presence reaches, as events, only people who share an open conversation with the
        # user; the REST resource shows it to the same people (and to the user).
        show_presence = caller.pk == user.pk or shares_open_conversation(caller.pk, user.pk)
        return Response(UserDetailSerializer(user, context={"show_presence": show_presence}).data)
