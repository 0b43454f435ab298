"""Fixtures of the notifications tests: alice's post in "Campus" and a domain signal recorder."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from posts.actions import do_add_network_members, do_create_network, do_create_post
from posts.models import Post

if TYPE_CHECKING:
    from tests.conftest import Member


@pytest.fixture
def post(alice: Member, bob: Member, carol: Member) -> Post:
    """alice's post in Campus, a network of alice, bob and carol."""
    network = do_create_network(alice.user, "Campus")
    do_add_network_members(network, alice.user, [bob.id, carol.id])
    return do_create_post(network, alice.user, "Hello campus")
