"""The posts admin pages load, search and filter, and deleting posts goes through the action."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client

from posts import signals
from posts.actions import do_comment, do_record_views, do_set_like
from posts.models import Network, Post

if TYPE_CHECKING:
    from tests.conftest import Member

pytestmark = pytest.mark.django_db

MODELS = ["network", "membership", "post", "postview", "comment", "like"]


@pytest.fixture
def activity(post: Post, bob: Member) -> Post:
    """A post with a view, a comment and a like, so every changelist has a row."""
    do_record_views(bob.user, [(post.pk, datetime(2024, 5, 1, tzinfo=UTC))])
    do_comment(post, bob.user, "Nice")
    do_set_like(post, bob.user, True)
    return post


@pytest.mark.parametrize("model", MODELS)
def test_changelist_loads(admin_client: Client, activity: Post, model: str) -> None:
    response = admin_client.get(f"/admin/posts/{model}/")
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_changelist_search_works(admin_client: Client, activity: Post, model: str) -> None:
    response = admin_client.get(f"/admin/posts/{model}/", {"q": "bob"})
    assert response.status_code == 200


def test_post_changelist_filters_by_deleted_and_network(
    admin_client: Client, activity: Post
) -> None:
    response = admin_client.get(
        "/admin/posts/post/", {"deleted__exact": "0", "network__id__exact": activity.network_id}
    )
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


@pytest.mark.parametrize("model", ["network", "post", "comment", "like"])
def test_change_page_loads(admin_client: Client, activity: Post, model: str) -> None:
    obj_id = {
        "network": activity.network_id,
        "post": activity.pk,
        "comment": activity.comments.get().pk,
        "like": activity.likes.get().pk,
    }[model]
    response = admin_client.get(f"/admin/posts/{model}/{obj_id}/change/")
    assert response.status_code == 200


def test_network_change_page_lists_members_inline(admin_client: Client, campus: Network) -> None:
    response = admin_client.get(f"/admin/posts/network/{campus.pk}/change/")
    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.queryset.count() == 3


def test_views_are_read_only_in_the_admin(admin_client: Client, activity: Post) -> None:
    assert admin_client.get("/admin/posts/postview/add/").status_code == 403


def test_the_network_autocomplete_answers(admin_client: Client, campus: Network) -> None:
    response = admin_client.get(
        "/admin/autocomplete/",
        {"term": "Camp", "app_label": "posts", "model_name": "post", "field_name": "network"},
    )
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [str(campus.pk)]


def test_deleting_posts_from_the_admin_marks_them_deleted_and_announces_it(
    admin_client: Client, post: Post, record_signal: Any
) -> None:
    deleted = record_signal(signals.post_deleted)
    response = admin_client.post(
        "/admin/posts/post/", {"action": "delete_posts", "_selected_action": [post.pk]}
    )
    assert response.status_code == 302
    assert Post.objects.get(pk=post.pk).deleted is True
    assert [call.post.pk for call in deleted] == [post.pk]
