"""The contract of the domain signals: each carries one frozen, typed dataclass named for it,
each has a receiver in the project that takes that dataclass once Django is set up, every signal
the project declares is one of them, and the actions send exactly their dataclass (STYLE.md,
"Typed signal payloads")."""

from __future__ import annotations

import ast
import dataclasses
import os
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
from realtime import receivers as realtime_receivers
from tests.conftest import Member
from tests.signal_recorder import domain_signals, receivers_of
from tests.videos.conftest import FAKE_VIDEO_BYTES, fake_outputs
from videos.actions import do_mark_video_ready, do_upload_video

pytestmark = pytest.mark.django_db

SIGNALS = sorted(domain_signals().items(), key=lambda item: item[1][0])
SIGNAL_IDS = [name for _, (name, _) in SIGNALS]
ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCE = {"tests", "node_modules", "__pycache__", "staticfiles", "media"}


def payload_problems(name: str, payload: type | None) -> list[str]:
    """What keeps ``payload`` from being the typed payload of the signal ``name``."""
    if payload is None:
        return [f"{name} has no dataclass named for it beside it"]
    if payload.__module__ != name.rpartition(".")[0]:
        return [f"{name}'s {payload.__name__} is imported from {payload.__module__}, not beside it"]
    if not dataclasses.is_dataclass(payload):
        return [f"{payload.__name__} is not a dataclass"]
    problems = []
    if not payload.__dataclass_params__.frozen:
        problems.append(f"{payload.__name__} is not frozen")
    # dataclass() writes a docstring of the signature when the class has none.
    if not payload.__doc__ or payload.__doc__.startswith(f"{payload.__name__}("):
        problems.append(f"{payload.__name__} has no docstring saying what fact it is")
    hints = typing.get_type_hints(payload)
    fields = dataclasses.fields(payload)
    if not fields:
        problems.append(f"{payload.__name__} carries nothing")
    problems += [
        f"{payload.__name__}.{field.name} is untyped"
        for field in fields
        if hints[field.name] is Any
    ]
    return problems


def receiver_problems(signal: Signal, name: str, payload: type | None) -> list[str]:
    """What keeps ``signal`` from having a receiver in the project that takes ``payload``.

    A receiver connected by a test does not count: it may be one a test failed to disconnect.
    """
    received = [r for r in receivers_of(signal) if r.__module__.split(".")[0] != "tests"]
    if not received:
        return [f"nothing outside the tests receives {name}: give it a receiver or remove it"]
    return [
        f"{receiver.__module__}.{receiver.__qualname__} does not take a {payload.__name__}"
        for receiver in received
        if payload is not None and payload not in typing.get_type_hints(receiver).values()
    ]


@pytest.mark.parametrize(("signal", "described"), SIGNALS, ids=SIGNAL_IDS)
def test_every_domain_signal_has_a_receiver_once_django_is_set_up(
    signal: Signal, described: tuple[str, type | None]
) -> None:
    # The apps' AppConfig.ready() connected their receivers; a signal nobody receives is dead.
    assert receiver_problems(signal, *described) == []


@pytest.mark.parametrize(("signal", "described"), SIGNALS, ids=SIGNAL_IDS)
def test_every_domain_signal_carries_a_typed_frozen_dataclass_named_for_it(
    signal: Signal, described: tuple[str, type | None]
) -> None:
    assert payload_problems(*described) == []


@dataclass
class Untyped:
    """A dataclass that is neither frozen nor typed."""

    what: Any


@dataclass(frozen=True)
class Typed:
    """A dataclass as a payload must be."""

    what: int


def _untyped_receiver(sender: Any, **kwargs: Any) -> None:
    pass


def test_the_checks_report_a_signal_without_a_receiver_or_a_typed_payload() -> None:
    assert payload_problems("tests.x.nothing", None) == [
        "tests.x.nothing has no dataclass named for it beside it"
    ]
    assert payload_problems("tests.test_domain_signals.untyped", Untyped) == [
        "Untyped is not frozen",
        "Untyped.what is untyped",
    ]
    assert payload_problems("posts.signals.typed", Typed) == [
        "posts.signals.typed's Typed is imported from tests.test_domain_signals, not beside it"
    ]
    assert payload_problems("tests.test_domain_signals.typed", Typed) == []
    signal = Signal()
    lonely = ["nothing outside the tests receives x.typed: give it a receiver or remove it"]
    assert receiver_problems(signal, "x.typed", Typed) == lonely
    # A receiver of the tests' own (a recorder, one left connected) does not count.
    signal.connect(_untyped_receiver)
    assert receiver_problems(signal, "x.typed", Typed) == lonely
    signal.disconnect(_untyped_receiver)
    # One of the project's that does not take the payload is reported.
    signal.connect(realtime_receivers.on_post_created)
    assert receiver_problems(signal, "x.typed", Typed) == [
        "realtime.receivers.on_post_created does not take a Typed"
    ]


def declared_signals() -> list[str]:
    """The dotted name of every ``name = Signal(...)`` in the project's source."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [n for n in subfolders if n not in NOT_SOURCE and not n.startswith(".")]
        for file in sorted(f for f in files if f.endswith(".py")):
            path = Path(folder, file)
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Assign | ast.AnnAssign) and _makes_a_signal(node.value):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    found += [f"{module}.{t.id}" for t in targets if isinstance(t, ast.Name)]
    return sorted(found)


def _makes_a_signal(value: ast.expr | None) -> bool:
    if not isinstance(value, ast.Call):
        return False
    called = value.func
    return (isinstance(called, ast.Name) and called.id == "Signal") or (
        isinstance(called, ast.Attribute) and called.attr == "Signal"
    )


def test_every_signal_the_project_declares_is_held_to_this_contract() -> None:
    # A signal declared outside the modules tests.signal_recorder knows would escape every
    # check here: declare it in a domain app's signals.py, and list that module there.
    assert declared_signals() == sorted(SIGNAL_IDS)


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
    # Recorded in the order the sends finish: notifications' receiver of post_liked, connected
    # before this test's, sends notification_created while post_liked is being sent.
    "like for the first time": (
        _first_like,
        ["notifications.signals.notification_created", "posts.signals.post_liked"],
    ),
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
