"""The video admin: finding videos, and reprocessing them through videos.actions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from tests.conftest import Member
from videos.models import Video

pytestmark = pytest.mark.django_db

MakeVideo = Callable[..., Video]
CHANGELIST = "/admin/videos/video/"


def reprocess(client: Client, ids: list[int]) -> list[tuple[str, str]]:
    """Run the admin action; the (level, text) of the messages it left."""
    response = client.post(
        CHANGELIST, {"action": "reprocess_videos", "_selected_action": [str(i) for i in ids]}
    )
    assert response.status_code == 302
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def test_reprocess_puts_a_ready_video_back_to_uploaded(
    admin_client: Client,
    alice: Member,
    make_video: MakeVideo,
    media_root: Path,
    django_capture_on_commit_callbacks: object,
) -> None:
    video = make_video(alice.user, Video.Status.READY)
    old_mp4 = video.mp4.name

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        messages = reprocess(admin_client, [video.pk])

    video.refresh_from_db()
    assert video.status == Video.Status.UPLOADED
    assert video.mp4.name == ""
    assert not (media_root / old_mp4).exists()
    assert messages == [("success", "Queued 1 video(s) for processing again.")]


def test_reprocess_warns_about_videos_it_cannot_take_and_does_the_rest(
    admin_client: Client, alice: Member, make_video: MakeVideo
) -> None:
    failed = make_video(alice.user, Video.Status.FAILED)
    busy = make_video(alice.user, Video.Status.PROCESSING)

    messages = reprocess(admin_client, [failed.pk, busy.pk])

    failed.refresh_from_db()
    busy.refresh_from_db()
    assert failed.status == Video.Status.UPLOADED
    assert busy.status == Video.Status.PROCESSING
    assert messages == [
        ("success", "Queued 1 video(s) for processing again."),
        (
            "warning",
            f"Not reprocessed: {busy.pk}: video is being processed; wait for it to finish",
        ),
    ]


@pytest.mark.parametrize("query", ["alice", "alice@example.com", "{id}", "nothing-like-it"])
def test_changelist_searches_by_owner_and_id(
    admin_client: Client, alice: Member, bob: Member, make_video: MakeVideo, query: str
) -> None:
    mine = make_video(alice.user)
    make_video(bob.user)

    response = admin_client.get(CHANGELIST, {"q": query.format(id=mine.pk)})

    assert response.status_code == 200
    found = [video.pk for video in response.context["cl"].result_list]
    assert found == ([] if query == "nothing-like-it" else [mine.pk])


def test_changelist_filters_by_status(
    admin_client: Client, alice: Member, make_video: MakeVideo
) -> None:
    make_video(alice.user)
    ready = make_video(alice.user, Video.Status.READY)

    response = admin_client.get(CHANGELIST, {"status__exact": "ready"})

    assert [video.pk for video in response.context["cl"].result_list] == [ready.pk]


def test_change_page_shows_outputs_read_only(
    admin_client: Client, alice: Member, make_video: MakeVideo
) -> None:
    video = make_video(alice.user, Video.Status.READY)

    response = admin_client.get(f"{CHANGELIST}{video.pk}/change/")

    assert response.status_code == 200
    form_fields = set(response.context["adminform"].form.fields)
    assert form_fields == {"owner", "file"}
    assert video.mp4.name in response.content.decode()
