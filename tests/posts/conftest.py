"""Fixtures of the posts tests: the "Campus" network of alice, bob and carol, a post in it, and a
recorder of domain signals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from posts.actions import do_add_network_members, do_create_network, do_create_post
from posts.models import Network, Post

if TYPE_CHECKING:
    from tests.conftest import Member


@pytest.fixture
def campus(alice: Member, bob: Member, carol: Member) -> Network:
    """Created by alice; bob and carol are members, dave is not."""
    network = do_create_network(alice.user, "Campus")
    do_add_network_members(network, alice.user, [bob.id, carol.id])
    return network


@pytest.fixture
def post(campus: Network, alice: Member) -> Post:
    """alice's post in Campus."""
    return do_create_post(campus, alice.user, "Hello campus")
