"""The contract of the domain signals: each carries one frozen dataclass named for it, each has a
receiver once Django is set up, and the actions send exactly their dataclass (STYLE.md, "Typed
signal payloads")."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.dispatch import Signal

from accounts.access import revoke_every_credential
from accounts.actions import do_set_presence
from conversations import actions as conversations
from notifications.actions import do_request_contact
from posts import actions as posts
from tests.conftest import Member
from tests.signal_recorder import domain_signals
from tests.videos.conftest import FAKE_VIDEO_BYTES, fake_outputs
from videos.actions import do_mark_video_ready, do_upload_video

pytestmark = pytest.mark.django_db

SIGNALS = sorted(domain_signals().items(), key=lambda item: item[1][0])
SIGNAL_IDS = [name for _, (name, _) in SIGNALS]


@pytest.mark.parametrize(("signal", "described"), SIGNALS, ids=SIGNAL_IDS)
def test_every_domain_signal_has_a_receiver_once_django_is_set_up(
    signal: Signal, described: tuple[str, type | None]
) -> None:
    # realtime's AppConfig.ready() connected its receivers; a signal nobody receives is dead.
    assert signal.has_listeners(), f"nothing receives {described[0]}"


@pytest.mark.parametrize(("signal", "described"), SIGNALS, ids=SIGNAL_IDS)
def test_every_domain_signal_carries_a_typed_frozen_dataclass_named_for_it(
    signal: Signal, described: tuple[str, type | None]
) -> None:
    name, payload = described
    assert payload is not None, f"{name} has no dataclass named for it beside it"
    assert dataclasses.is_dataclass(payload)
    assert payload.__dataclass_params__.frozen
    # dataclass() writes a docstring of the signature when the class has none.
    assert payload.__doc__ and not payload.__doc__.startswith(f"{payload.__name__}(")
    hints = typing.get_type_hints(payload)
    fields = dataclasses.fields(payload)
    assert fields
    for field in fields:
        assert hints[field.name] is not Any, f"{payload.__name__}.{field.name} is untyped"


@dataclass
class World:
    alice: Member
    bob: Member
    carol: Member
    tmp_path: Path


Scenario = Callable[[World], Callable[[], object]]


def _conversation(world: World, *, live: bool = False) -> conversations.Conversation:
    conversation, _ = conversations.do_create_conversation(
        world.alice.user, [world.bob.id], live=live
    )
    return conversation


def _post(world: World) -> posts.Post:
    network = posts.do_create_network(world.alice.user, "campus")
    posts.do_add_network_members(network, world.alice.user, [world.bob.id])
    return posts.do_create_post(network, world.alice.user, "hello")


def _create_conversation(world: World) -> Callable[[], object]:
    return lambda: _conversation(world)


def _send_message(world: World) -> Callable[[], object]:
    conversation = _conversation(world)
    return lambda: conversations.do_send_message(conversation, world.bob.user, "hi")


def _mark_read(world: World) -> Callable[[], object]:
    conversation = _conversation(world)
    message = conversations.do_send_message(conversation, world.bob.user, "hi")
    return lambda: conversations.do_mark_read(conversation, world.alice.user, message.pk)


def _add_participant(world: World) -> Callable[[], object]:
    conversation = _conversation(world)
    return lambda: conversations.do_add_participants(
        conversation, world.alice.user, [world.carol.id]
    )


def _leave(world: World) -> Callable[[], object]:
    conversation = _conversation(world)
    return lambda: conversations.do_leave_conversation(conversation, world.bob.user)


def _end(world: World) -> Callable[[], object]:
    conversation = _conversation(world, live=True)
    return lambda: conversations.do_end_conversation(conversation)


def _make_regular(world: World) -> Callable[[], object]:
    conversation = _conversation(world, live=True)
    return lambda: conversations.do_make_regular(conversation)


def _create_post(world: World) -> Callable[[], object]:
    return lambda: _post(world)


def _delete_post(world: World) -> Callable[[], object]:
    post = _post(world)
    return lambda: posts.do_delete_post(post, world.alice.user)


def _record_views(world: World) -> Callable[[], object]:
    post = _post(world)
    return lambda: posts.do_record_views(world.bob.user, [(post.pk, post.timestamp)])


def _comment(world: World) -> Callable[[], object]:
    post = _post(world)
    return lambda: posts.do_comment(post, world.bob.user, "nice")


def _first_like(world: World) -> Callable[[], object]:
    post = _post(world)
    return lambda: posts.do_set_like(post, world.bob.user, True)


def _unlike_and_like_again(world: World) -> Callable[[], object]:
    post = _post(world)
    posts.do_set_like(post, world.bob.user, True)

    def act() -> None:
        posts.do_set_like(post, world.bob.user, False)
        posts.do_set_like(post, world.bob.user, True)

    return act


def _remove_member(world: World) -> Callable[[], object]:
    network = posts.do_create_network(world.alice.user, "campus")
    posts.do_add_network_members(network, world.alice.user, [world.bob.id])
    return lambda: posts.do_remove_network_member(network, world.alice.user, world.bob.id)


def _request_contact(world: World) -> Callable[[], object]:
    return lambda: do_request_contact(world.alice.user, world.bob.id)


def _presence(world: World) -> Callable[[], object]:
    return lambda: do_set_presence(world.alice.user, "mobile")


def _video_ready(world: World) -> Callable[[], object]:
    video = do_upload_video(world.alice.user, ContentFile(FAKE_VIDEO_BYTES, name="clip.mp4"))
    return lambda: do_mark_video_ready(video, *fake_outputs(world.tmp_path / "outputs"))


def _revoke(world: World) -> Callable[[], object]:
    return lambda: revoke_every_credential(world.alice.id)


# What each main action sends, in order: the signal's dotted name.
SCENARIOS: dict[str, tuple[Scenario, list[str]]] = {
    "create a conversation": (_create_conversation, ["conversations.signals.conversation_created"]),
    "send a message": (_send_message, ["conversations.signals.message_sent"]),
    "mark read": (_mark_read, ["conversations.signals.messages_read"]),
    "add a participant": (_add_participant, ["conversations.signals.participants_added"]),
    "leave": (_leave, ["conversations.signals.participant_left"]),
    "end": (_end, ["conversations.signals.conversation_ended"]),
    "make regular": (_make_regular, ["conversations.signals.conversation_made_regular"]),
    "create a post": (_create_post, ["posts.signals.post_created"]),
    "delete a post": (_delete_post, ["posts.signals.post_deleted"]),
    "record views": (_record_views, ["posts.signals.post_views_changed"]),
    "comment": (
        _comment,
        ["notifications.signals.notification_created", "posts.signals.comment_added"],
    ),
    # A like's only visible effect is the author's notification (posts.signals says why).
    "like for the first time": (_first_like, ["notifications.signals.notification_created"]),
    "unlike, like again": (_unlike_and_like_again, []),
    "remove a network member": (_remove_member, ["posts.signals.network_member_removed"]),
    "request a contact": (_request_contact, ["notifications.signals.notification_created"]),
    "set presence": (_presence, ["accounts.signals.presence_changed"]),
    "a video becomes ready": (_video_ready, ["videos.signals.video_ready"]),
    # Alice's one token is deleted (its own revocation), then everything she held ends.
    "revoke every credential": (_revoke, ["accounts.signals.credentials_revoked"] * 2),
}


@pytest.fixture
def sent() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every send of every domain signal, as (its dotted name, its keyword arguments)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    receivers = []
    for signal, (name, _) in domain_signals().items():

        def receiver(sender: Any, name: str = name, **kwargs: Any) -> None:
            kwargs.pop("signal", None)
            calls.append((name, kwargs))

        signal.connect(receiver, weak=False)
        receivers.append((signal, receiver))
    yield calls
    for signal, receiver in receivers:
        signal.disconnect(receiver)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_action_sends_exactly_the_dataclass_of_its_signal(
    scenario: str,
    sent: list[tuple[str, dict[str, Any]]],
    alice: Member,
    bob: Member,
    carol: Member,
    tmp_path: Path,
    settings: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    prepare, expected = SCENARIOS[scenario]
    act = prepare(World(alice, bob, carol, tmp_path))
    sent.clear()
    act()
    assert [name for name, _ in sent] == expected
    payloads = {name: payload for name, payload in domain_signals().values()}
    for name, kwargs in sent:
        payload = payloads[name]
        assert payload is not None
        assert len(kwargs) == 1, f"{name} sent {sorted(kwargs)}, not one {payload.__name__}"
        (value,) = kwargs.values()
        assert type(value) is payload


def test_the_scenarios_send_every_domain_signal() -> None:
    covered = {name for _, expected in SCENARIOS.values() for name in expected}
    assert covered == set(SIGNAL_IDS)
