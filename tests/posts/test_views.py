"""The networks and posts endpoints (rest-api.md, Networks and posts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from gleepost.errors import ApiError
from gleepost.times import format_time
from notifications.models import Notification
from posts import signals
from posts.actions import do_create_post, do_delete_post
from posts.models import Comment, Like, Membership, Network, Post, PostView
from posts.views import parse_views

if TYPE_CHECKING:
    from tests.conftest import Member

API = "/api/v1"
BAD_TIME_0 = "views[0].time: must be an RFC 3339 time with a time zone"

pytestmark = pytest.mark.django_db


def notifications() -> list[tuple[int, str, int, int | None]]:
    """Every notification as (recipient, type, actor, post), oldest first."""
    return list(
        Notification.objects.order_by("pk").values_list(
            "recipient_id", "type", "actor_id", "post_id"
        )
    )


def user_shape(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "username": member.user.username,
        "profile_image": member.user.profile_image,
    }


def post_shape(post: Post, by: Member) -> dict[str, Any]:
    post.refresh_from_db()
    return {
        "id": post.pk,
        "by": user_shape(by),
        "text": post.text,
        "timestamp": format_time(post.timestamp),
        "network": post.network_id,
        "views": post.views_count,
    }


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/networks"),
        ("post", "/networks/1/users"),
        ("delete", "/networks/1/users/1"),
        ("get", "/networks/1/posts"),
        ("post", "/networks/1/posts"),
        ("get", "/posts/1"),
        ("delete", "/posts/1"),
        ("post", "/views/posts"),
        ("post", "/posts/1/comments"),
        ("post", "/posts/1/likes"),
    ],
)
def test_every_endpoint_refuses_a_caller_without_credentials(
    anon: APIClient, method: str, path: str
) -> None:
    response = getattr(anon, method)(API + path)
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid credentials"}


def test_bad_token_is_refused(alice: Member, post: Post) -> None:
    client = APIClient()
    client.credentials(HTTP_X_GP_AUTH=f"{alice.id}-not-the-token")
    response = client.get(f"{API}/posts/{post.pk}")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid credentials"}


# --- POST networks ----------------------------------------------------------------------------


def test_creating_a_network_returns_it_and_makes_the_caller_its_only_member(
    alice: Member,
) -> None:
    response = alice.client.post(f"{API}/networks", {"name": "  Chess club  "})
    assert response.status_code == 201
    network = Network.objects.get()
    assert response.json() == {"id": network.pk, "name": "Chess club"}
    assert network.creator == alice.user
    assert list(Membership.objects.values_list("network_id", "user_id")) == [(network.pk, alice.id)]


def test_network_name_may_come_as_json_or_in_the_query_string(alice: Member) -> None:
    as_json = alice.client.post(f"{API}/networks/", {"name": "Json"}, format="json")
    in_query = alice.client.post(f"{API}/networks?name=Query")
    assert (as_json.status_code, as_json.json()["name"]) == (201, "Json")
    assert (in_query.status_code, in_query.json()["name"]) == (201, "Query")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "name: required"),
        ({"name": "   "}, "name: must be at least 1 characters"),
        ({"name": "x" * 201}, "name: must be at most 200 characters"),
        ({"name": 42}, "name: must be a string"),
        ({"name": ["a", "b"]}, "name: must be a string"),
    ],
)
def test_creating_a_network_with_a_bad_name_is_refused(
    alice: Member, data: dict[str, Any], error: str
) -> None:
    response = alice.client.post(f"{API}/networks", data, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert not Network.objects.exists()


def test_a_network_name_of_exactly_200_characters_is_accepted(alice: Member) -> None:
    response = alice.client.post(f"{API}/networks", {"name": "x" * 200})
    assert response.status_code == 201
    assert response.json()["name"] == "x" * 200


# --- POST networks/{id}/users -----------------------------------------------------------------


def test_a_member_adds_users_and_gets_every_current_member(
    campus: Network, alice: Member, bob: Member, carol: Member, dave: Member
) -> None:
    response = bob.client.post(f"{API}/networks/{campus.pk}/users", {"users": f"{dave.id}"})
    assert response.status_code == 200
    assert response.json() == {
        "users": [user_shape(alice), user_shape(bob), user_shape(carol), user_shape(dave)]
    }
    assert Membership.objects.filter(network=campus, user=dave.user).exists()


def test_adding_someone_who_is_already_a_member_changes_nothing(
    campus: Network, alice: Member, bob: Member
) -> None:
    response = alice.client.post(f"{API}/networks/{campus.pk}/users", {"users": f"{bob.id}"})
    assert response.status_code == 200
    assert len(response.json()["users"]) == 3
    assert Membership.objects.filter(network=campus).count() == 3


def test_users_may_be_a_json_list(campus: Network, alice: Member, dave: Member) -> None:
    response = alice.client.post(
        f"{API}/networks/{campus.pk}/users", {"users": [dave.id]}, format="json"
    )
    assert response.status_code == 200
    assert dave.id in [user["id"] for user in response.json()["users"]]


def test_a_non_member_cannot_add_users_and_is_told_the_network_does_not_exist(
    campus: Network, dave: Member
) -> None:
    response = dave.client.post(f"{API}/networks/{campus.pk}/users", {"users": f"{dave.id}"})
    assert response.status_code == 404
    assert response.json() == {"error": "Network not found"}
    assert not Membership.objects.filter(user=dave.user).exists()


def test_adding_users_to_an_unknown_network_is_not_found(alice: Member, bob: Member) -> None:
    response = alice.client.post(f"{API}/networks/999999/users", {"users": f"{bob.id}"})
    assert response.status_code == 404
    assert response.json() == {"error": "Network not found"}


def test_adding_an_unknown_user_is_refused_and_adds_nobody(
    campus: Network, alice: Member, dave: Member
) -> None:
    response = alice.client.post(
        f"{API}/networks/{campus.pk}/users", {"users": f"{dave.id},999999"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "users: no such user 999999"}
    assert not Membership.objects.filter(user=dave.user).exists()


@pytest.mark.parametrize(
    ("users", "error"),
    [
        (None, "users: required"),
        ("", "users: required"),
        ("abc", "users: must be a positive integer"),
        ("1,-2", "users: must be a positive integer"),
        (",".join(str(n) for n in range(1, 102)), "users: at most 100 ids"),
    ],
)
def test_adding_users_with_a_malformed_list_is_refused(
    campus: Network, alice: Member, users: str | None, error: str
) -> None:
    data = {} if users is None else {"users": users}
    response = alice.client.post(f"{API}/networks/{campus.pk}/users", data)
    assert response.status_code == 400
    assert response.json() == {"error": error}


# --- DELETE networks/{id}/users/{user id} -----------------------------------------------------


def test_a_member_may_leave_a_network(
    campus: Network, post: Post, bob: Member, record_signal: Any
) -> None:
    removed = record_signal(signals.network_member_removed)
    response = bob.client.delete(f"{API}/networks/{campus.pk}/users/{bob.id}")
    assert response.status_code == 204
    assert not Membership.objects.filter(network=campus, user=bob.user).exists()
    assert removed == [signals.NetworkMemberRemoved(network=campus, user_id=bob.id)]


def test_a_removed_member_loses_access_to_the_networks_posts_at_once(
    campus: Network, post: Post, alice: Member, bob: Member
) -> None:
    assert bob.client.get(f"{API}/posts/{post.pk}").status_code == 200
    alice.client.delete(f"{API}/networks/{campus.pk}/users/{bob.id}")
    assert bob.client.get(f"{API}/posts/{post.pk}").status_code == 404
    assert bob.client.get(f"{API}/networks/{campus.pk}/posts").status_code == 404


def test_the_creator_may_remove_anyone(
    campus: Network, alice: Member, bob: Member, carol: Member, record_signal: Any
) -> None:
    removed = record_signal(signals.network_member_removed)
    response = alice.client.delete(f"{API}/networks/{campus.pk}/users/{carol.id}/")
    assert response.status_code == 204
    assert set(Membership.objects.values_list("user_id", flat=True)) == {alice.id, bob.id}
    assert removed == [signals.NetworkMemberRemoved(network=campus, user_id=carol.id)]


def test_a_member_who_is_not_the_creator_cannot_remove_someone_else(
    campus: Network, bob: Member, carol: Member, record_signal: Any
) -> None:
    removed = record_signal(signals.network_member_removed)
    response = bob.client.delete(f"{API}/networks/{campus.pk}/users/{carol.id}")
    assert response.status_code == 403
    assert response.json() == {"error": "Only the network's creator may remove other members"}
    assert Membership.objects.filter(user=carol.user).exists()
    assert removed == []


def test_removing_someone_who_is_not_a_member_is_not_found(
    campus: Network, alice: Member, dave: Member
) -> None:
    response = alice.client.delete(f"{API}/networks/{campus.pk}/users/{dave.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "User is not a member of this network"}


def test_a_non_member_cannot_remove_anyone_and_is_told_the_network_does_not_exist(
    campus: Network, dave: Member, bob: Member
) -> None:
    response = dave.client.delete(f"{API}/networks/{campus.pk}/users/{bob.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Network not found"}
    assert Membership.objects.filter(user=bob.user).exists()


# --- GET networks/{id}/posts ------------------------------------------------------------------


def test_a_member_reads_the_networks_posts_newest_first(
    campus: Network, alice: Member, bob: Member, carol: Member
) -> None:
    first = do_create_post(campus, alice.user, "first")
    second = do_create_post(campus, bob.user, "second")
    response = carol.client.get(f"{API}/networks/{campus.pk}/posts")
    assert response.status_code == 200
    assert response.json() == [post_shape(second, bob), post_shape(first, alice)]


def test_deleted_posts_are_not_listed(campus: Network, alice: Member, bob: Member) -> None:
    kept = do_create_post(campus, alice.user, "kept")
    gone = do_create_post(campus, alice.user, "gone")
    do_delete_post(gone, alice.user)
    response = bob.client.get(f"{API}/networks/{campus.pk}/posts")
    assert [item["id"] for item in response.json()] == [kept.pk]


def test_posts_of_other_networks_are_not_listed(
    campus: Network, alice: Member, bob: Member
) -> None:
    other = Network.objects.create(name="Other", creator=alice.user)
    Membership.objects.create(network=other, user=alice.user)
    do_create_post(other, alice.user, "elsewhere")
    mine = do_create_post(campus, alice.user, "here")
    response = alice.client.get(f"{API}/networks/{campus.pk}/posts")
    assert [item["id"] for item in response.json()] == [mine.pk]


def test_network_posts_come_a_page_at_a_time(campus: Network, alice: Member, settings: Any) -> None:
    settings.GLEEPOST = {"PAGE_SIZE": 2}
    ids = [do_create_post(campus, alice.user, f"post {n}").pk for n in range(5)]
    newest_first = ids[::-1]
    url = f"{API}/networks/{campus.pk}/posts"

    def page(query: str) -> list[int]:
        response = alice.client.get(url + query)
        assert response.status_code == 200
        return [item["id"] for item in response.json()]

    assert page("") == newest_first[:2]
    assert page(f"?before={newest_first[1]}") == newest_first[2:4]
    assert page("?start=2") == newest_first[2:4]
    assert page(f"?before={newest_first[1]}&start=2") == newest_first[4:]
    assert page(f"?before={ids[0]}") == []


def test_the_default_page_is_twenty_posts(campus: Network, alice: Member) -> None:
    Post.objects.bulk_create(Post(network=campus, by=alice.user, text=f"{n}") for n in range(25))
    response = alice.client.get(f"{API}/networks/{campus.pk}/posts")
    assert len(response.json()) == 20


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("before=abc", "before: must be a positive integer"),
        ("before=0", "before: must be a positive integer"),
        ("start=-1", "start: must be between 0 and 100000"),
        ("start=x", "start: must be an integer"),
    ],
)
def test_network_posts_with_bad_paging_are_refused(
    campus: Network, alice: Member, query: str, error: str
) -> None:
    response = alice.client.get(f"{API}/networks/{campus.pk}/posts?{query}")
    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_a_non_member_cannot_read_a_networks_posts(
    campus: Network, post: Post, dave: Member
) -> None:
    response = dave.client.get(f"{API}/networks/{campus.pk}/posts")
    assert response.status_code == 404
    assert response.json() == {"error": "Network not found"}


def test_reading_posts_of_an_unknown_network_is_not_found(alice: Member) -> None:
    response = alice.client.get(f"{API}/networks/424242/posts")
    assert response.status_code == 404
    assert response.json() == {"error": "Network not found"}


# --- POST networks/{id}/posts -----------------------------------------------------------------


def test_a_member_posts_and_gets_the_post_back(
    campus: Network, alice: Member, record_signal: Any
) -> None:
    created = record_signal(signals.post_created)
    before = timezone.now()
    response = alice.client.post(f"{API}/networks/{campus.pk}/posts", {"text": " Hi all "})
    assert response.status_code == 201
    post = Post.objects.get()
    assert response.json() == {
        "id": post.pk,
        "by": {
            "id": alice.id,
            "username": "alice",
            "profile_image": "https://img.example.com/alice.jpg",
        },
        "text": "Hi all",
        "timestamp": format_time(post.timestamp),
        "network": campus.pk,
        "views": 0,
    }
    assert before <= post.timestamp <= timezone.now()
    assert created == [signals.PostCreated(post=post)]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "text: required"),
        ({"text": ""}, "text: must be at least 1 characters"),
        ({"text": "x" * 11}, "text: must be at most 10 characters"),
        ({"text": 5}, "text: must be a string"),
    ],
)
def test_posting_bad_text_is_refused(
    campus: Network, alice: Member, settings: Any, data: dict[str, Any], error: str
) -> None:
    settings.GLEEPOST = {"MAX_POST_CHARS": 10}
    response = alice.client.post(f"{API}/networks/{campus.pk}/posts", data, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert not Post.objects.exists()


def test_a_post_may_be_as_long_as_the_limit(campus: Network, alice: Member, settings: Any) -> None:
    settings.GLEEPOST = {"MAX_POST_CHARS": 10}
    response = alice.client.post(f"{API}/networks/{campus.pk}/posts", {"text": "x" * 10})
    assert response.status_code == 201


def test_a_non_member_cannot_post(campus: Network, dave: Member, record_signal: Any) -> None:
    created = record_signal(signals.post_created)
    response = dave.client.post(f"{API}/networks/{campus.pk}/posts", {"text": "let me in"})
    assert response.status_code == 404
    assert response.json() == {"error": "Network not found"}
    assert not Post.objects.exists()
    assert created == []


# --- GET posts/{id} ---------------------------------------------------------------------------


def test_a_member_reads_a_post_with_its_current_views(
    post: Post, alice: Member, bob: Member
) -> None:
    Post.objects.filter(pk=post.pk).update(views_count=7)
    response = bob.client.get(f"{API}/posts/{post.pk}/")
    assert response.status_code == 200
    assert response.json() == post_shape(post, alice)
    assert response.json()["views"] == 7


def test_a_non_member_gets_the_same_answer_as_for_a_post_that_does_not_exist(
    post: Post, dave: Member
) -> None:
    hidden = dave.client.get(f"{API}/posts/{post.pk}")
    missing = dave.client.get(f"{API}/posts/{post.pk + 1000}")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"error": "Post not found"}


def test_a_deleted_post_is_not_found_even_by_its_author(post: Post, alice: Member) -> None:
    do_delete_post(post, alice.user)
    response = alice.client.get(f"{API}/posts/{post.pk}")
    assert response.status_code == 404
    assert response.json() == {"error": "Post not found"}


# --- DELETE posts/{id} ------------------------------------------------------------------------


def test_the_author_deletes_a_post(post: Post, alice: Member, record_signal: Any) -> None:
    deleted = record_signal(signals.post_deleted)
    response = alice.client.delete(f"{API}/posts/{post.pk}")
    assert response.status_code == 204
    post.refresh_from_db()
    assert post.deleted is True
    assert len(deleted) == 1
    assert deleted[0].post.pk == post.pk


def test_a_member_who_is_not_the_author_cannot_delete_a_post(
    post: Post, bob: Member, record_signal: Any
) -> None:
    deleted = record_signal(signals.post_deleted)
    response = bob.client.delete(f"{API}/posts/{post.pk}")
    assert response.status_code == 403
    assert response.json() == {"error": "Only the author may delete a post"}
    post.refresh_from_db()
    assert post.deleted is False
    assert deleted == []


def test_a_non_member_cannot_delete_a_post_and_is_told_it_does_not_exist(
    post: Post, dave: Member
) -> None:
    response = dave.client.delete(f"{API}/posts/{post.pk}")
    assert response.status_code == 404
    assert response.json() == {"error": "Post not found"}
    post.refresh_from_db()
    assert post.deleted is False


def test_deleting_a_deleted_post_is_not_found_and_announces_nothing(
    post: Post, alice: Member, record_signal: Any
) -> None:
    do_delete_post(post, alice.user)
    deleted = record_signal(signals.post_deleted)
    response = alice.client.delete(f"{API}/posts/{post.pk}")
    assert response.status_code == 404
    assert deleted == []


# --- POST views/posts -------------------------------------------------------------------------


def post_views(client: APIClient, body: Any) -> Any:
    return client.post(f"{API}/views/posts", body, format="json")


def test_two_views_of_one_post_by_one_user_count_two(
    post: Post, alice: Member, bob: Member, record_signal: Any
) -> None:
    changed = record_signal(signals.post_views_changed)
    first, second = "2024-05-01T10:00:00.000001Z", "2024-05-01T10:00:05Z"
    response = post_views(
        bob.client, [{"post": post.pk, "time": first}, {"post": post.pk, "time": second}]
    )
    assert response.status_code == 204
    post.refresh_from_db()
    assert post.views_count == 2
    assert sorted(
        format_time(time)
        for time in PostView.objects.filter(post=post, user=bob.user).values_list("time", flat=True)
    ) == ["2024-05-01T10:00:00.000001Z", "2024-05-01T10:00:05.000000Z"]
    assert changed == [signals.PostViewsChanged(counts={post.pk: 2})]
    assert bob.client.get(f"{API}/posts/{post.pk}").json()["views"] == 2


def test_views_add_up_across_requests_and_users(
    post: Post, alice: Member, bob: Member, carol: Member, record_signal: Any
) -> None:
    changed = record_signal(signals.post_views_changed)
    post_views(bob.client, [{"post": post.pk}])
    post_views(carol.client, [{"post": post.pk}])
    post_views(alice.client, [{"post": post.pk}])
    assert [call.counts for call in changed] == [{post.pk: 1}, {post.pk: 2}, {post.pk: 3}]


def test_a_view_without_a_time_is_recorded_as_now(post: Post, bob: Member) -> None:
    before = timezone.now()
    response = post_views(bob.client, [{"post": post.pk}])
    after = timezone.now()
    assert response.status_code == 204
    view = PostView.objects.get()
    assert before <= view.time <= after


def test_views_of_posts_the_caller_cannot_see_are_dropped_without_changing_counts(
    campus: Network, post: Post, alice: Member, dave: Member, record_signal: Any
) -> None:
    gone = do_create_post(campus, alice.user, "gone")
    do_delete_post(gone, alice.user)
    changed = record_signal(signals.post_views_changed)
    outsider = post_views(dave.client, [{"post": post.pk}])
    deleted = post_views(alice.client, [{"post": gone.pk}, {"post": 99999}])
    assert outsider.status_code == deleted.status_code == 204
    assert list(Post.objects.order_by("pk").values_list("views_count", flat=True)) == [0, 0]
    assert not PostView.objects.exists()
    assert changed == []


def test_one_request_counts_visible_posts_and_announces_every_new_total_at_once(
    campus: Network, post: Post, alice: Member, bob: Member, dave: Member, record_signal: Any
) -> None:
    other = do_create_post(campus, bob.user, "other")
    Post.objects.filter(pk=other.pk).update(views_count=10)
    hidden_network = Network.objects.create(name="Hidden", creator=dave.user)
    hidden = Post.objects.create(network=hidden_network, by=dave.user, text="secret")
    changed = record_signal(signals.post_views_changed)
    body = [{"post": post.pk}, {"post": hidden.pk}, {"post": other.pk}, {"post": post.pk}]
    assert post_views(bob.client, body).status_code == 204
    assert changed == [signals.PostViewsChanged(counts={post.pk: 2, other.pk: 11})]
    hidden.refresh_from_db()
    assert hidden.views_count == 0


def test_an_empty_list_of_views_records_nothing(bob: Member, record_signal: Any) -> None:
    changed = record_signal(signals.post_views_changed)
    assert post_views(bob.client, []).status_code == 204
    assert changed == []


def test_exactly_the_maximum_number_of_views_is_accepted(post: Post, bob: Member) -> None:
    response = post_views(bob.client, [{"post": post.pk}] * 100)
    assert response.status_code == 204
    post.refresh_from_db()
    assert post.views_count == 100


def test_more_than_the_maximum_number_of_views_is_refused(post: Post, bob: Member) -> None:
    response = post_views(bob.client, [{"post": post.pk}] * 101)
    assert response.status_code == 400
    assert response.json() == {"error": "At most 100 views per request"}
    post.refresh_from_db()
    assert post.views_count == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"post": 1}, "Expected a JSON list of views"),
        ("1", "Expected a JSON list of views"),
        ([1], "views[0]: must be an object"),
        ([[1]], "views[0]: must be an object"),
        ([{}], "views[0].post: required"),
        ([{"time": "2024-05-01T10:00:00Z"}], "views[0].post: required"),
        ([{"post": "abc"}], "views[0].post: must be a positive integer"),
        ([{"post": True}], "views[0].post: must be a positive integer"),
        ([{"post": 0}], "views[0].post: must be a positive integer"),
        ([{"post": 1.5}], "views[0].post: must be a positive integer"),
        (
            [{"post": 1}, {"post": 1, "time": "yesterday"}],
            "views[1].time: must be an RFC 3339 time with a time zone",
        ),
        ([{"post": 1, "time": "2024-05-01T10:00:00"}], BAD_TIME_0),
        ([{"post": 1, "time": 1714557600}], BAD_TIME_0),
        # The document says a string: null is not an absent time.
        ([{"post": 1, "time": None}], BAD_TIME_0),
    ],
)
def test_a_malformed_views_body_is_refused_and_records_nothing(
    post: Post, bob: Member, body: Any, error: str
) -> None:
    response = post_views(bob.client, body)
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert not PostView.objects.exists()


def test_views_as_malformed_json_are_refused(bob: Member) -> None:
    response = bob.client.generic(
        "POST", f"{API}/views/posts", '[{"post": 1', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("Malformed request body")


def test_views_sent_form_encoded_are_refused(post: Post, bob: Member) -> None:
    response = bob.client.post(f"{API}/views/posts", {"post": post.pk})
    assert response.status_code == 400
    assert response.json() == {"error": "Expected a JSON list of views"}


# --- POST posts/{id}/comments -----------------------------------------------------------------


def test_a_member_comments_and_the_author_is_notified(
    post: Post, alice: Member, bob: Member, record_signal: Any
) -> None:
    added = record_signal(signals.comment_added)
    response = bob.client.post(f"{API}/posts/{post.pk}/comments", {"text": " Nice "})
    assert response.status_code == 201
    comment = Comment.objects.get()
    assert response.json() == {
        "id": comment.pk,
        "by": user_shape(bob),
        "text": "Nice",
        "timestamp": format_time(comment.timestamp),
    }
    assert (comment.post_id, comment.by_id) == (post.pk, bob.id)
    assert notifications() == [(alice.id, "commented", bob.id, post.pk)]
    assert added == [signals.CommentAdded(comment=comment)]


def test_commenting_on_ones_own_post_notifies_nobody(post: Post, alice: Member) -> None:
    response = alice.client.post(f"{API}/posts/{post.pk}/comments", {"text": "bump"})
    assert response.status_code == 201
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "text: required"),
        ({"text": "  "}, "text: must be at least 1 characters"),
        ({"text": "x" * 6}, "text: must be at most 5 characters"),
        ({"text": {"a": 1}}, "text: must be a string"),
    ],
)
def test_a_bad_comment_is_refused(
    post: Post, bob: Member, settings: Any, data: dict[str, Any], error: str
) -> None:
    settings.GLEEPOST = {"MAX_COMMENT_CHARS": 5}
    response = bob.client.post(f"{API}/posts/{post.pk}/comments", data, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert not Comment.objects.exists()


def test_a_non_member_cannot_comment(post: Post, dave: Member) -> None:
    response = dave.client.post(f"{API}/posts/{post.pk}/comments", {"text": "hi"})
    assert response.status_code == 404
    assert response.json() == {"error": "Post not found"}
    assert not Comment.objects.exists()
    assert not Notification.objects.exists()


def test_nobody_can_comment_on_a_deleted_post(post: Post, alice: Member, bob: Member) -> None:
    do_delete_post(post, alice.user)
    response = bob.client.post(f"{API}/posts/{post.pk}/comments", {"text": "hi"})
    assert response.status_code == 404
    assert response.json() == {"error": "Post not found"}


# --- POST posts/{id}/likes --------------------------------------------------------------------


def test_liking_a_post_notifies_its_author(post: Post, alice: Member, bob: Member) -> None:
    response = bob.client.post(f"{API}/posts/{post.pk}/likes", {"liked": "true"})
    assert response.status_code == 204
    assert list(Like.objects.values_list("post_id", "user_id", "liked")) == [
        (post.pk, bob.id, True)
    ]
    assert notifications() == [(alice.id, "liked", bob.id, post.pk)]


def test_the_author_hears_of_a_liker_once_across_like_unlike_like(
    post: Post, alice: Member, bob: Member
) -> None:
    url = f"{API}/posts/{post.pk}/likes"
    assert bob.client.post(url, {"liked": "true"}).status_code == 204
    assert bob.client.post(url, {"liked": "false"}).status_code == 204
    assert Like.objects.get().liked is False
    assert bob.client.post(url, {"liked": True}, format="json").status_code == 204
    assert Like.objects.get().liked is True
    assert Notification.objects.filter(type="liked").count() == 1


def test_each_liker_is_announced_to_the_author(
    post: Post, alice: Member, bob: Member, carol: Member
) -> None:
    bob.client.post(f"{API}/posts/{post.pk}/likes", {"liked": "true"})
    carol.client.post(f"{API}/posts/{post.pk}/likes", {"liked": "true"})
    assert sorted(Notification.objects.values_list("actor_id", flat=True)) == sorted(
        [bob.id, carol.id]
    )


def test_liking_ones_own_post_notifies_nobody(post: Post, alice: Member) -> None:
    response = alice.client.post(f"{API}/posts/{post.pk}/likes", {"liked": "true"})
    assert response.status_code == 204
    assert Like.objects.get().liked is True
    assert not Notification.objects.exists()


def test_unliking_a_post_never_liked_records_nothing(post: Post, bob: Member) -> None:
    response = bob.client.post(f"{API}/posts/{post.pk}/likes", {"liked": "false"})
    assert response.status_code == 204
    assert not Like.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "liked: required"),
        ({"liked": "maybe"}, "liked: must be true or false"),
        ({"liked": 1}, "liked: must be true or false"),
    ],
)
def test_a_bad_liked_value_is_refused(
    post: Post, bob: Member, data: dict[str, Any], error: str
) -> None:
    response = bob.client.post(f"{API}/posts/{post.pk}/likes", data, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert not Like.objects.exists()


def test_a_non_member_cannot_like(post: Post, dave: Member) -> None:
    response = dave.client.post(f"{API}/posts/{post.pk}/likes", {"liked": "true"})
    assert response.status_code == 404
    assert response.json() == {"error": "Post not found"}
    assert not Like.objects.exists()


def test_nobody_can_like_a_deleted_post(post: Post, alice: Member, bob: Member) -> None:
    do_delete_post(post, alice.user)
    response = bob.client.post(f"{API}/posts/{post.pk}/likes", {"liked": "true"})
    assert response.status_code == 404
    assert not Like.objects.exists()


def test_views_sent_after_a_post_is_deleted_are_dropped(
    post: Post, alice: Member, bob: Member
) -> None:
    post_views(bob.client, [{"post": post.pk}])
    do_delete_post(post, alice.user)
    post_views(bob.client, [{"post": post.pk}])
    post.refresh_from_db()
    assert post.views_count == 1
    assert PostView.objects.count() == 1


# --- the views body parser --------------------------------------------------------------------

view_items = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=2**53 - 1),
        st.one_of(st.none(), st.datetimes(min_value=datetime(1970, 1, 1), timezones=st.just(UTC))),
    ),
    max_size=100,
)


@hypothesis_settings(max_examples=50)
@given(view_items)
def test_parse_views_reads_back_every_well_formed_item(
    items: list[tuple[int, datetime | None]],
) -> None:
    body = [
        {"post": post_id} if time is None else {"post": post_id, "time": format_time(time)}
        for post_id, time in items
    ]
    parsed = parse_views(body, max_count=100)
    assert [post_id for post_id, _ in parsed] == [post_id for post_id, _ in items]
    for (_, sent), (_, read) in zip(items, parsed, strict=True):
        if sent is not None:
            assert read == sent


@given(st.one_of(st.none(), st.integers(), st.text(), st.dictionaries(st.text(), st.integers())))
def test_parse_views_refuses_anything_but_a_list(body: Any) -> None:
    with pytest.raises(ApiError) as raised:
        parse_views(body, max_count=100)
    assert raised.value.status_code == 400


# --- query counts -----------------------------------------------------------------------------


def test_listing_posts_costs_the_same_few_queries_however_many_authors(
    campus: Network, alice: Member, bob: Member, carol: Member, django_assert_max_num_queries: Any
) -> None:
    for member in (alice, bob, carol) * 3:
        do_create_post(campus, member.user, "hello")
    with django_assert_max_num_queries(5):
        response = alice.client.get(f"{API}/networks/{campus.pk}/posts")
    assert len(response.json()) == 9
