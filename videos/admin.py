"""Admin for videos. Reprocessing goes through videos.actions, as the worker's changes do."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from gleepost.exceptions import DomainError
from videos.actions import do_reprocess_video
from videos.models import Video


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin[Video]):
    list_display = ("id", "owner", "status", "created_at", "updated_at")
    list_filter = ("status", "created_at")
    search_fields = ("=id", "owner__username", "owner__email")
    raw_id_fields = ("owner",)
    list_select_related = ("owner",)
    # Status and outputs change only through the worker and the reprocess action, which keep
    # files, state and events consistent; a hand edit would do none of that.
    readonly_fields = (
        "status",
        "mp4",
        "webm",
        "thumbnail",
        "failure_reason",
        "processing_started_at",
        "created_at",
        "updated_at",
    )
    actions = ["reprocess_videos"]

    @admin.action(description="Reprocess video")
    def reprocess_videos(self, request: HttpRequest, queryset: QuerySet[Video]) -> None:
        queued, refused = 0, []
        for video in queryset.order_by("pk"):
            try:
                do_reprocess_video(video)
            except DomainError as error:
                refused.append(f"{video.pk}: {error.reason}")
                continue
            queued += 1
        if queued:
            self.message_user(
                request, f"Queued {queued} video(s) for processing again.", messages.SUCCESS
            )
        if refused:
            self.message_user(request, "Not reprocessed: " + "; ".join(refused), messages.WARNING)
