"""``POST videos`` and ``GET videos/{id}`` (rest-api.md, Videos)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.parsers import MultiPartParser
from rest_framework.test import APIClient, APIRequestFactory

from tests.conftest import Member
from tests.videos.conftest import FAKE_VIDEO_BYTES
from videos.models import Video
from videos.serializers import VideoSerializer
from videos.views import VideoUploadView

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def upload(client: APIClient, content: bytes = FAKE_VIDEO_BYTES, name: str = "clip.mp4") -> Any:
    return client.post(
        "/api/v1/videos", {"video": SimpleUploadedFile(name, content)}, format="multipart"
    )


class TestUpload:
    def test_upload_is_stored_as_an_uploaded_video_of_the_caller(
        self, alice: Member, media_root: Path
    ) -> None:
        response = upload(alice.client)

        assert response.status_code == 201
        video = Video.objects.get()
        assert response.json() == {"id": video.pk, "status": "uploaded"}
        assert video.owner == alice.user
        assert video.status == Video.Status.UPLOADED
        assert (media_root / video.file.name).read_bytes() == FAKE_VIDEO_BYTES

    def test_stored_name_is_random_not_the_clients(self, alice: Member) -> None:
        upload(alice.client, name="../../my holiday.MP4")

        name = Video.objects.get().file.name
        assert name.startswith("videos/uploads/")
        assert name.endswith(".mp4")
        assert "holiday" not in name
        assert len(Path(name).stem) == 64

    def test_trailing_slash_is_accepted(self, alice: Member) -> None:
        response = alice.client.post(
            "/api/v1/videos/",
            {"video": SimpleUploadedFile("clip.mp4", FAKE_VIDEO_BYTES)},
            format="multipart",
        )
        assert response.status_code == 201

    def test_upload_without_file_is_400(self, alice: Member) -> None:
        response = alice.client.post("/api/v1/videos", {}, format="multipart")

        assert response.status_code == 400
        assert response.json() == {"error": "video: required"}
        assert not Video.objects.exists()

    def test_video_sent_as_text_is_400(self, alice: Member) -> None:
        response = alice.client.post("/api/v1/videos", {"video": "not a file"})

        assert response.status_code == 400
        assert response.json()["error"].startswith("video: must be a file")

    def test_empty_file_is_400(self, alice: Member) -> None:
        response = upload(alice.client, content=b"")

        assert response.status_code == 400
        assert response.json() == {"error": "video: the file is empty"}
        assert not Video.objects.exists()

    def test_file_over_max_video_mb_is_413(
        self, alice: Member, settings: Any, media_root: Path
    ) -> None:
        settings.GLEEPOST = {"MAX_VIDEO_MB": 1}

        # Inside the multipart allowance, so the body is parsed and the file itself is too big.
        response = upload(alice.client, content=b"x" * (MB + 1))

        assert response.status_code == 413
        assert response.json() == {"error": "video: larger than 1 MB"}
        assert not Video.objects.exists()
        assert not any(path.is_file() for path in media_root.rglob("*"))

    def test_file_at_max_video_mb_is_accepted(self, alice: Member, settings: Any) -> None:
        settings.GLEEPOST = {"MAX_VIDEO_MB": 1}

        response = upload(alice.client, content=b"x" * MB)

        assert response.status_code == 201

    def test_body_well_over_max_video_mb_is_413(self, alice: Member, settings: Any) -> None:
        settings.GLEEPOST = {"MAX_VIDEO_MB": 1}

        response = upload(alice.client, content=b"x" * (MB + 200 * 1024))

        # Refused by the size-limit middleware or by the view, whichever comes first.
        assert response.status_code == 413
        assert isinstance(response.json()["error"], str) and response.json()["error"]
        assert not Video.objects.exists()

    def test_oversized_body_is_refused_by_the_view_before_it_is_parsed(
        self, alice: Member, settings: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Called without the middleware, and with credentials in the body: the view itself must
        # refuse before authentication would parse the upload.
        settings.GLEEPOST = {"MAX_VIDEO_MB": 1}

        def must_not_parse(*args: Any, **kwargs: Any) -> None:
            raise AssertionError("the body was parsed")

        monkeypatch.setattr(MultiPartParser, "parse", must_not_parse)
        request = APIRequestFactory().post(
            "/api/v1/videos",
            {
                "id": str(alice.id),
                "token": alice.token,
                "video": SimpleUploadedFile("clip.mp4", b"x" * (MB + 200 * 1024)),
            },
            format="multipart",
        )

        response = VideoUploadView.as_view()(request)

        assert response.status_code == 413
        assert response.data == {"error": "video: larger than 1 MB"}

    def test_upload_requires_credentials(self, anon: APIClient) -> None:
        response = upload(anon)

        assert response.status_code == 401
        assert response.json() == {"error": "Invalid credentials"}
        assert not Video.objects.exists()

    def test_credentials_in_the_multipart_body_are_accepted(self, alice: Member) -> None:
        response = APIClient().post(
            "/api/v1/videos",
            {
                "id": str(alice.id),
                "token": alice.token,
                "video": SimpleUploadedFile("clip.mp4", FAKE_VIDEO_BYTES),
            },
            format="multipart",
        )

        assert response.status_code == 201
        assert Video.objects.get().owner == alice.user


class TestGet:
    def test_owner_sees_uploaded_video(self, alice: Member) -> None:
        video_id = upload(alice.client).json()["id"]

        response = alice.client.get(f"/api/v1/videos/{video_id}")

        assert response.status_code == 200
        assert response.json() == {"id": video_id, "status": "uploaded"}

    def test_other_user_cannot_see_video(self, alice: Member, bob: Member) -> None:
        video_id = upload(alice.client).json()["id"]

        response = bob.client.get(f"/api/v1/videos/{video_id}")

        assert response.status_code == 404
        assert response.json() == {"error": "Not found"}

    def test_unknown_video_is_404(self, alice: Member) -> None:
        response = alice.client.get("/api/v1/videos/999999")

        assert response.status_code == 404
        assert response.json() == {"error": "Not found"}

    def test_get_requires_credentials(self, alice: Member, anon: APIClient) -> None:
        video_id = upload(alice.client).json()["id"]

        assert anon.get(f"/api/v1/videos/{video_id}").status_code == 401

    def test_ready_video_has_mp4_webm_and_thumbnails(
        self, alice: Member, make_video: Callable[..., Video], media_root: Path, settings: Any
    ) -> None:
        # Without a public address the URLs are the storage's paths.
        settings.GLEEPOST = {**getattr(settings, "GLEEPOST", {}), "PUBLIC_URL": ""}
        video = make_video(alice.user, Video.Status.READY)

        response = alice.client.get(f"/api/v1/videos/{video.pk}")

        data = response.json()
        assert response.status_code == 200
        assert set(data) == {"id", "status", "mp4", "webm", "thumbnails"}
        assert data["id"] == video.pk
        assert data["status"] == "ready"
        assert data["mp4"] == f"/media/{video.mp4.name}"
        assert data["webm"] == f"/media/{video.webm.name}"
        assert data["thumbnails"] == [f"/media/{video.thumbnail.name}"]
        assert data["mp4"].startswith("/media/videos/mp4/") and data["mp4"].endswith(".mp4")
        assert data["webm"].startswith("/media/videos/webm/") and data["webm"].endswith(".webm")
        assert data["thumbnails"][0].startswith("/media/videos/thumbnails/")
        assert (media_root / video.thumbnail.name).read_bytes().startswith(b"\xff\xd8")

    def test_response_equals_the_serializer_without_a_request(
        self, alice: Member, make_video: Callable[..., Video]
    ) -> None:
        # The video-ready event is built from the serializer with no request at hand.
        video = make_video(alice.user, Video.Status.READY)

        response = alice.client.get(f"/api/v1/videos/{video.pk}")

        assert response.json() == VideoSerializer(video).data

    def test_ready_video_urls_are_absolute_on_the_public_url(
        self, alice: Member, make_video: Callable[..., Video], settings: Any
    ) -> None:
        settings.GLEEPOST = {
            **getattr(settings, "GLEEPOST", {}),
            "PUBLIC_URL": "https://gleepost.example.com/",
        }
        video = make_video(alice.user, Video.Status.READY)

        data = alice.client.get(f"/api/v1/videos/{video.pk}").json()

        base = "https://gleepost.example.com/media/"
        assert data["mp4"] == f"{base}{video.mp4.name}"
        assert data["webm"] == f"{base}{video.webm.name}"
        assert data["thumbnails"] == [f"{base}{video.thumbnail.name}"]
        # The same as built with no request at hand (the video-ready event).
        assert data == VideoSerializer(video).data

    def test_an_absolute_media_url_is_kept_whatever_the_public_url(
        self, alice: Member, make_video: Callable[..., Video], settings: Any
    ) -> None:
        settings.MEDIA_URL = "https://cdn.example.com/gp/"
        settings.GLEEPOST = {
            **getattr(settings, "GLEEPOST", {}),
            "PUBLIC_URL": "https://gleepost.example.com",
        }
        video = make_video(alice.user, Video.Status.READY)

        data = alice.client.get(f"/api/v1/videos/{video.pk}").json()

        assert data["mp4"] == f"https://cdn.example.com/gp/{video.mp4.name}"
        assert data["thumbnails"] == [f"https://cdn.example.com/gp/{video.thumbnail.name}"]

    @pytest.mark.parametrize("status", [Video.Status.PROCESSING, Video.Status.FAILED])
    def test_unfinished_video_shows_only_id_and_status(
        self, alice: Member, make_video: Callable[..., Video], status: str
    ) -> None:
        video = make_video(alice.user, status)

        response = alice.client.get(f"/api/v1/videos/{video.pk}")

        assert response.json() == {"id": video.pk, "status": status}
