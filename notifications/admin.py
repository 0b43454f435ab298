"""Admin pages for notifications and contact requests; users are picked by raw id."""

from __future__ import annotations

from django.contrib import admin

from notifications.models import Contact, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ["id", "type", "recipient", "actor", "post", "seen", "time"]
    list_select_related = ["recipient", "actor"]
    list_filter = ["type", "seen", "time"]
    search_fields = ["recipient__username", "actor__username"]
    raw_id_fields = ["recipient", "actor", "post"]
    date_hierarchy = "time"


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin[Contact]):
    list_display = ["id", "from_user", "to_user", "accepted", "created_at", "accepted_at"]
    list_select_related = ["from_user", "to_user"]
    list_filter = ["accepted"]
    search_fields = ["from_user__username", "to_user__username"]
    raw_id_fields = ["from_user", "to_user"]
