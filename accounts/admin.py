"""Admin for users and their tokens. Revoking goes through accounts.actions like logout does."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.actions import do_revoke_tokens
from accounts.models import AuthToken, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("id", "username", "email", "is_active", "is_staff", "date_joined")
    search_fields = ("username", "email", "=id")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("Profile", {"fields": ("profile_image",)}),
        # Set by the user's own clients (the websocket's presence action), never by hand.
        ("Presence", {"fields": ("presence_form", "presence_at")}),
    )
    readonly_fields = ("presence_form", "presence_at")
    # A profile image typed without a scheme is an https:// URL: what Django 6 assumes, said
    # now (Django 5.2 warns that its default, http://, is changing).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin[AuthToken]):
    """Tokens are shown by owner and dates only: the raw value is never stored."""

    list_display = ("id", "user", "created_at", "expires_at")
    list_filter = ("created_at", "expires_at")
    search_fields = ("user__username", "user__email", "=user__id")
    raw_id_fields = ("user",)
    readonly_fields = ("user", "created_at", "expires_at")
    actions = ["revoke_tokens"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token made here could not be shown to anyone; users log in to get one.
        return False

    @admin.action(description="Revoke selected tokens (closes their websockets)")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> None:
        revoked = 0
        for token in queryset.select_related("user"):
            revoked += len(do_revoke_tokens(token.user, [token]))
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> None:
        self.revoke_tokens(request, queryset)

    def delete_model(self, request: HttpRequest, obj: AuthToken) -> None:
        do_revoke_tokens(obj.user, [obj])
