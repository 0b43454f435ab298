"""OpenAPI shapes of the networks and posts endpoints (rest-api.md, Networks and posts) that
the views read or build by hand."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.serializers import UserSerializer
from gleepost.conf import DEFAULTS
from gleepost.openapi import id_field, ids_field, text_field
from posts.actions import MAX_NETWORK_NAME_CHARS


class CreateNetworkSerializer(serializers.Serializer[Any]):
    name = text_field(max_length=MAX_NETWORK_NAME_CHARS)


class AddNetworkUsersSerializer(serializers.Serializer[Any]):
    users = ids_field(
        help_text="Comma-separated user ids, e.g. `2,3` (a JSON body may send a list of ids)."
    )


class NetworkMembersSerializer(serializers.Serializer[Any]):
    users = UserSerializer(many=True, help_text="Every member, oldest member first.")


class TextSerializer(serializers.Serializer[Any]):
    text = text_field(max_length=DEFAULTS["MAX_POST_CHARS"])


class CommentTextSerializer(serializers.Serializer[Any]):
    text = text_field(max_length=DEFAULTS["MAX_COMMENT_CHARS"])


class LikeSerializer(serializers.Serializer[Any]):
    liked = serializers.BooleanField(help_text="`true` likes the post, `false` takes it back.")


class ViewSerializer(serializers.Serializer[Any]):
    post = id_field()
    time = serializers.DateTimeField(
        required=False, help_text="When it was seen (RFC 3339 with a zone); default now."
    )
