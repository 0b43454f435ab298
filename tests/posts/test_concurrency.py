"""Concurrent writers on a real database: counts add up and a liker is announced once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from django.db import connection

from notifications.models import Notification
from posts.actions import do_record_views, do_set_like
from posts.models import Post, PostView

if TYPE_CHECKING:
    from tests.conftest import Member

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]

MAY_1 = datetime(2024, 5, 1, tzinfo=UTC)


def run_at_once(tasks: list[Callable[[], object]]) -> list[BaseException]:
    """Run each task in its own thread (and database connection), released together."""
    barrier = threading.Barrier(len(tasks))
    errors: list[BaseException] = []

    def run(task: Callable[[], object]) -> None:
        try:
            barrier.wait()
            task()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_concurrent_views_of_the_same_posts_all_count(
    campus: object, post: Post, alice: Member, bob: Member, carol: Member
) -> None:
    other = Post.objects.create(network=post.network, by=alice.user, text="other")
    # Opposite orders in the requests: the id-ordered updates must not deadlock.
    forward = [(post.pk, MAY_1), (other.pk, MAY_1)] * 5
    backward = [(other.pk, MAY_1), (post.pk, MAY_1)] * 5
    tasks: list[Callable[[], object]] = []
    for member in (alice, bob, carol) * 2:
        for views in (forward, backward):
            tasks.append(lambda user=member.user, views=views: do_record_views(user, views))
    assert run_at_once(tasks) == []
    totals = dict(Post.objects.values_list("pk", "views_count"))
    assert totals == {post.pk: 60, other.pk: 60}
    assert PostView.objects.count() == 120


def test_concurrent_first_likes_by_one_user_notify_the_author_once(post: Post, bob: Member) -> None:
    errors = run_at_once([lambda: do_set_like(post, bob.user, True) for _ in range(6)])
    assert errors == []
    assert Notification.objects.filter(type="liked").count() == 1
