"""Uploaded videos and the files the worker makes from them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Video(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded"
        PROCESSING = "processing"
        READY = "ready"
        FAILED = "failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    file = models.FileField(upload_to="videos/uploads/", max_length=300)
    mp4 = models.FileField(upload_to="videos/mp4/", max_length=300, blank=True)
    webm = models.FileField(upload_to="videos/webm/", max_length=300, blank=True)
    thumbnail = models.FileField(upload_to="videos/thumbnails/", max_length=300, blank=True)
    failure_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    processing_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The worker's queue: oldest first within a status.
        indexes = [models.Index(fields=["status", "id"], name="videos_status_queue")]

    def __str__(self) -> str:
        return f"video {self.pk} ({self.status})"
