"""Networks, posts, views, comments and likes over REST (rest-api.md, Networks and posts).

Networks the caller is not a member of, and posts the caller cannot see (deleted ones included),
are answered 404 exactly like ids that do not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from accounts.models import User
from gleepost.api import ApiView
from gleepost.conf import DEFAULTS, gp_settings
from gleepost.errors import bad_request
from gleepost.openapi import error, refusals
from gleepost.params import checked, validated
from gleepost.parsers import AnyJSONParser, FormParser, MultiPartParser
from posts.actions import (
    do_add_network_members,
    do_comment,
    do_create_network,
    do_create_post,
    do_delete_post,
    do_record_views,
    do_remove_network_member,
    do_set_like,
)
from posts.models import Network, Post
from posts.permissions import network_for_member, post_for_viewer
from posts.serializers import (
    CommentSerializer,
    LikeSerializer,
    NetworkMembersSerializer,
    NetworkSerializer,
    PostPageSerializer,
    PostSerializer,
    ViewSerializer,
)

# How many users one request may add to a network.

NOT_A_MEMBER = error("No such network, or the caller is not a member: `Network not found`.")
CANNOT_SEE = error("No such post, or one the caller cannot see: `Post not found`.")


class NetworksView(ApiView):
    @extend_schema(
        summary="Create a network",
        description="The caller is its first member.",
        request=NetworkSerializer,
        responses={201: NetworkSerializer},
    )
    def post(self, request: Request) -> Response:
        name = validated(request, NetworkSerializer)["name"]
        network = do_create_network(request_user(request), name)
        return Response(NetworkSerializer(network).data, status=status.HTTP_201_CREATED)


class NetworkUsersView(ApiView):
    @extend_schema(
        summary="Add members to a network",
        description="Members only may add. Answers with every current member; adding a "
        "member again is not an error. "
        + refusals("users: no such user <ids>", "users: at most <count> ids"),
        request=NetworkMembersSerializer,
        responses={
            200: NetworkMembersSerializer,
            400: error("A user who does not exist."),
            404: NOT_A_MEMBER,
        },
    )
    def post(self, request: Request, network_id: int) -> Response:
        """Add ``users`` to the network; 200 ``{"users": [user, ...]}``, every current member.

        The spec fixes only the status. The full member list (oldest member first) lets the
        client show the network as it now is without a second request, and adding someone
        who is already a member is not an error, so the answer is the same either way.
        """
        user_ids = validated(request, NetworkMembersSerializer)["users"]
        user = request_user(request)
        network = network_for_member(user.pk, network_id)
        do_add_network_members(network, user, user_ids)
        members = User.objects.filter(memberships__network=network).order_by("memberships__pk")
        return Response(NetworkMembersSerializer(members).data)


class NetworkUserView(ApiView):
    @extend_schema(
        summary="Remove a member from a network",
        description="A member may remove themselves, the network's creator anyone. The removed "
        "user loses access to its posts at once, live subscriptions included.",
        request=None,
        responses={
            204: OpenApiResponse(description="Removed."),
            403: error("Only the network's creator may remove other members."),
            404: error("No such network or member, or the caller is not a member."),
        },
    )
    def delete(self, request: Request, network_id: int, user_id: int) -> Response:
        user = request_user(request)
        network = network_for_member(user.pk, network_id)
        do_remove_network_member(network, user, user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NetworkPostsView(ApiView):
    @extend_schema(
        operation_id="networks_posts_list",
        summary="A network's posts, newest first",
        parameters=[PostPageSerializer],
        responses={200: PostSerializer(many=True), 404: NOT_A_MEMBER},
    )
    def get(self, request: Request, network_id: int) -> Response:
        """The network's posts, newest first, a page at a time (``before`` = post id, ``start``)."""
        params = validated(request, PostPageSerializer)
        before, start = params.get("before"), params["start"]
        network = network_for_member(request_user(request).pk, network_id)
        posts = _network_posts(network, before)[start : start + gp_settings.PAGE_SIZE]
        return Response(PostSerializer(posts, many=True).data)

    @extend_schema(
        summary="Post in a network",
        description="Sends **post** to the subscribers of the network.",
        request=PostSerializer,
        responses={201: PostSerializer, 404: NOT_A_MEMBER},
    )
    def post(self, request: Request, network_id: int) -> Response:
        text = validated(request, PostSerializer)["text"]
        user = request_user(request)
        network = network_for_member(user.pk, network_id)
        post = do_create_post(network, user, text)
        return Response(PostSerializer(post).data, status=status.HTTP_201_CREATED)


class PostDetailView(ApiView):
    @extend_schema(
        summary="One post, with its current views",
        responses={200: PostSerializer, 404: CANNOT_SEE},
    )
    def get(self, request: Request, post_id: int) -> Response:
        return Response(PostSerializer(post_for_viewer(request_user(request).pk, post_id)).data)

    @extend_schema(
        summary="Delete a post",
        description="The author only. Nobody can see it or subscribe to it from then on, and "
        "its subscribers receive nothing more about it.",
        request=None,
        responses={
            204: OpenApiResponse(description="Deleted."),
            403: error("Only the author may delete a post."),
            404: CANNOT_SEE,
        },
    )
    def delete(self, request: Request, post_id: int) -> Response:
        user = request_user(request)
        post = post_for_viewer(user.pk, post_id)
        do_delete_post(post, user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostViewsView(ApiView):
    parser_classes = [AnyJSONParser, FormParser, MultiPartParser]

    @extend_schema(
        summary="Record views of posts",
        description="Every view is counted; views of posts the caller cannot see are dropped. "
        "Sends **views** to the subscribers of each post whose count changed.",
        request={"application/json": ViewSerializer(many=True)},
        responses={
            204: OpenApiResponse(description="Recorded."),
            400: error(
                f"Not a JSON list of views, more than {DEFAULTS['MAX_VIEWS_PER_REQUEST']} "
                "(`GLEEPOST_MAX_VIEWS_PER_REQUEST`), or a malformed one."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """Record views sent as a JSON list ``[{"post": <id>, "time": <time>}, ...]``."""
        views = parse_views(request.data, max_count=gp_settings.MAX_VIEWS_PER_REQUEST)
        do_record_views(request_user(request), views)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostCommentsView(ApiView):
    @extend_schema(
        summary="Comment on a post",
        description="Sends **comment** to the post's subscribers, and a `commented` "
        "**notification** to its author (not to oneself).",
        request=CommentSerializer,
        responses={201: CommentSerializer, 404: CANNOT_SEE},
    )
    def post(self, request: Request, post_id: int) -> Response:
        text = validated(request, CommentSerializer)["text"]
        user = request_user(request)
        post = post_for_viewer(user.pk, post_id)
        comment = do_comment(post, user, text)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class PostLikesView(ApiView):
    @extend_schema(
        summary="Like a post, or take the like back",
        description="A like sends a `liked` **notification** to the post's author (not to "
        "oneself, once per liker).",
        request=LikeSerializer,
        responses={204: OpenApiResponse(description="Done."), 404: CANNOT_SEE},
    )
    def post(self, request: Request, post_id: int) -> Response:
        liked = validated(request, LikeSerializer)["liked"]
        user = request_user(request)
        post = post_for_viewer(user.pk, post_id)
        do_set_like(post, user, liked)
        return Response(status=status.HTTP_204_NO_CONTENT)


def parse_views(data: Any, *, max_count: int) -> list[tuple[int, datetime]]:
    """``(post id, time)`` pairs from a views body (an absent ``time`` is now); 400 if malformed."""
    if not isinstance(data, list):
        raise bad_request("Expected a JSON list of views")
    if len(data) > max_count:
        raise bad_request(f"At most {max_count} views per request")
    now = timezone.now()
    return [_parse_view(item, index, now) for index, item in enumerate(data)]


def _parse_view(item: Any, index: int, now: datetime) -> tuple[int, datetime]:
    name = f"views[{index}]"
    if not isinstance(item, Mapping):
        raise bad_request(f"{name}: must be an object")
    # Absent is now; null is not a time (the document says a string, and null is not one).
    view = checked(item, ViewSerializer, prefix=f"{name}.")
    return view["post"], view.get("time", now)


def _network_posts(network: Network, before: int | None) -> QuerySet[Post]:
    posts = Post.objects.filter(network=network, deleted=False).select_related("by")
    if before is not None:
        posts = posts.filter(pk__lt=before)
    return posts.order_by("-pk")
