"""The user shape, shared by every resource that embeds a user and by websocket events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.validators import EmailValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.actions import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS
from accounts.models import AuthToken, PresenceForm, User
from gleepost.fields import IdListField, PasswordField, TextField
from gleepost.openapi import omitted_when_absent
from gleepost.times import format_time


@extend_schema_field(
    {"anyOf": [{"type": "string", "format": "uri"}, {"type": "string", "enum": [""]}]}
)
class ProfileImageField(serializers.URLField):
    """A URL, or ``""`` when the user has none (rest-api.md, Shapes: user)."""


class UserSerializer(serializers.ModelSerializer[User]):
    """``{"id", "username", "profile_image"}``; ``profile_image`` is ``""`` when none."""

    profile_image = ProfileImageField(
        read_only=True, help_text='A URL, or `""` when the user has none.'
    )

    class Meta:
        model = User
        fields = ["id", "username", "profile_image"]
        read_only_fields = fields

    def to_representation(self, instance: User) -> dict[str, Any]:
        return user_data(instance)


class UsersField(IdListField):
    """Written, user ids (``IdListField``); read, those users."""

    rendered_as = UserSerializer

    def to_representation(self, value: Any) -> list[dict[str, Any]]:
        return [user_data(user) for user in value]


def user_data(user: User) -> dict[str, Any]:
    """``UserSerializer``'s declared fields of ``user``, without a serializer: a message's
    sender is built on every send, where DRF's pass over the fields costs more than the rest of
    the shape (tests/accounts/test_serializers.py checks it against the declaration)."""
    return {"id": user.pk, "username": user.username, "profile_image": user.profile_image}


def presence_data(form: str, at: datetime) -> dict[str, str]:
    """``{"form", "at"}``: a user's last presence, in ``GET user/{id}`` and ``presence`` events."""
    return {"form": form, "at": format_time(at)}


class PresenceSerializer(serializers.Serializer[User]):
    """A user's last presence: how they were last seen online, and when."""

    form = serializers.ChoiceField(
        source="presence_form", choices=PresenceForm.choices, read_only=True
    )
    at = serializers.DateTimeField(source="presence_at", read_only=True)


@omitted_when_absent("presence")
class UserDetailSerializer(UserSerializer):
    """The user resource of ``GET user/{id}``: the user shape plus ``presence`` when known.

    Only that endpoint uses it; users embedded in messages, posts and the rest keep the plain
    shape, so a presence change never alters what those resources (and their events) carry.
    """

    presence = PresenceSerializer(
        source="*",
        read_only=True,
        help_text="The user's last presence; only to the user and to people who share an open "
        "conversation with them.",
    )

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "presence"]
        read_only_fields = fields

    def to_representation(self, instance: User) -> dict[str, Any]:
        data = user_data(instance)
        # Presence is shown to whom the presence event goes (see accounts.views.UserView).
        if (
            self.context.get("show_presence", True)
            and instance.presence_form
            and instance.presence_at is not None
        ):
            data["presence"] = presence_data(instance.presence_form, instance.presence_at)
        return data


class _WithPassword(serializers.Serializer[Any]):
    """Adds the write-only ``pass`` (a Python keyword, so not declarable as a class attribute)."""

    min_password_chars = 1

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["pass"] = PasswordField(
            write_only=True,
            min_length=self.min_password_chars,
            max_length=MAX_PASSWORD_CHARS,
            help_text="The password, as typed: surrounding spaces are part of it.",
        )
        return fields


class RegisterSerializer(_WithPassword, serializers.Serializer[User]):
    """A new account: ``username``, ``email`` and ``pass`` written; ``id`` and ``username``
    answered."""

    id = serializers.IntegerField(read_only=True)
    # Django's username rule (UnicodeUsernameValidator), around which the parameter is stripped;
    # do_register applies Django's own validator too.
    username = TextField(
        max_length=150,
        pattern=r"^\s*[\w.@+-]+\s*$",
        pattern_message=str(UnicodeUsernameValidator.message),
    )
    email = TextField(
        max_length=254, write_only=True, validators=[EmailValidator("not a valid email address")]
    )
    min_password_chars = MIN_PASSWORD_CHARS


class LoginSerializer(_WithPassword, serializers.Serializer[AuthToken]):
    """Logging in: ``email`` and ``pass`` written; a token answered: send ``id`` and ``value``
    as ``X-GP-Auth: <id>-<value>`` or as ``?id=&token=``."""

    email = TextField(max_length=254, write_only=True)
    id = serializers.IntegerField(source="user_id", read_only=True, help_text="The user's id.")
    # Not get_value: that name is Field's own (serializers are fields).
    value = serializers.SerializerMethodField(
        method_name="raw_value", help_text="The token; shown once, stored only hashed."
    )
    expiry = serializers.DateTimeField(
        source="expires_at", read_only=True, help_text="When the token stops working."
    )

    # Renders a token with ``value`` (its raw value, known only at login) in the context.

    def raw_value(self, token: AuthToken) -> str:
        return str(self.context["value"])
