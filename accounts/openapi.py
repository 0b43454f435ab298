"""OpenAPI shapes of the accounts endpoints (rest-api.md, Accounts and authentication) that the
views read or build by hand; ``gleepost.openapi`` says how they reach ``docs/openapi.yaml``."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.actions import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS
from gleepost.openapi import PASSWORD_PATTERN


class _WithPassword(serializers.Serializer[Any]):
    """Adds ``pass`` (a Python keyword, so not declarable as a class attribute)."""

    min_password_chars = 1

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["pass"] = serializers.RegexField(
            PASSWORD_PATTERN,
            min_length=self.min_password_chars,
            max_length=MAX_PASSWORD_CHARS,
            trim_whitespace=False,
            help_text="The password, as typed: surrounding spaces are part of it.",
        )
        return fields


class RegisterSerializer(_WithPassword):
    # Django's username rule (UnicodeUsernameValidator), around which the parameter is stripped.
    username = serializers.RegexField(r"^\s*[\w.@+-]+\s*$", max_length=150)
    email = serializers.EmailField(max_length=254)
    min_password_chars = MIN_PASSWORD_CHARS


class RegisteredSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    username = serializers.CharField()


class LoginSerializer(_WithPassword):
    email = serializers.EmailField(max_length=254)


class TokenSerializer(serializers.Serializer[Any]):
    """A login token: send ``id`` and ``value`` as ``X-GP-Auth: <id>-<value>`` or as
    ``?id=&token=``."""

    id = serializers.IntegerField(help_text="The user's id.")
    value = serializers.CharField(help_text="The token; shown once, stored only hashed.")
    expiry = serializers.DateTimeField(help_text="When the token stops working.")
