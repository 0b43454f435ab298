"""Admin pages for networks, posts and what users do to posts.

User foreign keys use raw id widgets: a select listing every user would not scale. Changes that
other parts of the system must hear about (deleting a post) go through ``posts.actions``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from gleepost.exceptions import DomainError
from posts.actions import do_delete_post
from posts.models import Comment, Like, Membership, Network, Post, PostView


class MembershipInline(admin.TabularInline[Membership, Network]):
    model = Membership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin[Network]):
    list_display = ["id", "name", "creator", "created_at"]
    search_fields = ["name"]
    # Also the order of the autocomplete that picks a post's network.
    ordering = ["name", "id"]
    raw_id_fields = ["creator"]
    date_hierarchy = "created_at"
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["id", "network", "user", "joined_at"]
    list_select_related = ["network", "user"]
    search_fields = ["network__name", "user__username"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["network"]


@admin.action(description="Delete selected posts (their subscribers stop hearing of them)")
def delete_posts(modeladmin: PostAdmin, request: HttpRequest, queryset: QuerySet[Post]) -> None:
    moderator = request.user
    assert isinstance(moderator, User)
    deleted = 0
    for post in queryset.filter(deleted=False):
        try:
            do_delete_post(post, moderator, as_moderator=True)
        except DomainError as error:
            modeladmin.message_user(request, f"Post {post.pk}: {error.reason}", messages.ERROR)
        else:
            deleted += 1
    modeladmin.message_user(request, f"Deleted {deleted} post(s).", messages.SUCCESS)


@admin.register(Post)
class PostAdmin(admin.ModelAdmin[Post]):
    list_display = ["id", "network", "by", "short_text", "timestamp", "views_count", "deleted"]
    list_select_related = ["network", "by"]
    list_filter = ["deleted", "network"]
    search_fields = ["text", "by__username"]
    raw_id_fields = ["by"]
    autocomplete_fields = ["network"]
    # The count follows recorded views, and deletion must be announced: both go through actions.
    readonly_fields = ["views_count", "deleted"]
    actions = [delete_posts]

    @admin.display(description="text")
    def short_text(self, post: Post) -> str:
        return post.text if len(post.text) <= 80 else post.text[:79] + "…"


@admin.register(PostView)
class PostViewAdmin(admin.ModelAdmin[PostView]):
    """Read only: views are counted into ``Post.views_count`` as they are recorded."""

    list_display = ["id", "post", "user", "time", "recorded_at"]
    list_select_related = ["post", "user"]
    search_fields = ["user__username"]
    raw_id_fields = ["post", "user"]
    date_hierarchy = "recorded_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PostView | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PostView | None = None) -> bool:
        return False


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin[Comment]):
    list_display = ["id", "post", "by", "text", "timestamp"]
    list_select_related = ["post", "by"]
    search_fields = ["text", "by__username"]
    raw_id_fields = ["post", "by"]
    date_hierarchy = "timestamp"


@admin.register(Like)
class LikeAdmin(admin.ModelAdmin[Like]):
    list_display = ["id", "post", "user", "liked", "created_at"]
    list_select_related = ["post", "user"]
    list_filter = ["liked"]
    search_fields = ["user__username"]
    raw_id_fields = ["post", "user"]
