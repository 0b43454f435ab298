"""Schemathesis against a real daphne, with every check on: the API answers as its OpenAPI
document (``/api/v1/schema/``) says.

- No response violates its schema, and every error has the JSON error shape (and the request id
  header, which the document lists on every response).
- No request the schema refuses is accepted.
- A request the schema accepts is refused with 400 only for a rule a schema cannot state, and
  the reason is quoted in the operation's description (tests/gleepost/schemathesis_hooks.py).

Deterministic: a fixed seed, a bounded number of cases per operation, one worker, no example
database; the same cases run each time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conversations import actions as conversation_actions
from notifications.actions import do_request_contact
from posts import actions as post_actions
from tests.conftest import Member
from tests.servers import ROOT, daphne
from videos.models import Video

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SEED = 20260107
EXAMPLES_PER_OPERATION = 10
# What positive_data_acceptance lets a schema-valid request be answered: Schemathesis's default
# (5xx is not_a_server_error's to fail). 400 is added only on the operations whose description
# lists refusals, and refusals_of_valid_requests_are_documented holds each 400 to that list.
EXPECTED_FOR_VALID = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# gleepost.openapi.refusals: how a description starts its list of refusals of valid requests.
REFUSALS = "Refused with 400 although well formed:"
# Logout revokes the token the run authenticates with: every case after it would be a 401. No
# other operation ends a credential (login issues new tokens; leaving a network or a
# conversation takes away what the caller sees there, which the run then finds 404).
EXCLUDED_PATHS = ["/api/v1/logout"]


@pytest.fixture
def data(alice: Member, bob: Member, carol: Member, dave: Member) -> dict[str, list[int]]:
    """Something for every path to find: ids that exist, each with the caller allowed to see it.

    Each path id is drawn from these half of the time; the other half are generated."""
    network = post_actions.do_create_network(alice.user, "Campus")
    post_actions.do_add_network_members(network, alice.user, [bob.id, carol.id])
    posts = [post_actions.do_create_post(network, alice.user, f"post {n}") for n in range(3)]
    post_actions.do_comment(posts[0], bob.user, "nice")
    regular, _ = conversation_actions.do_create_conversation(alice.user, [bob.id])
    live, _ = conversation_actions.do_create_conversation(alice.user, [carol.id], live=True)
    group, _ = conversation_actions.do_create_conversation(alice.user, [bob.id], group=network.pk)
    for conversation, sender in ((regular, bob), (live, carol), (group, bob)):
        conversation_actions.do_send_message(conversation, sender.user, "hello")
    do_request_contact(dave.user, alice.id)
    video = Video.objects.create(owner=alice.user, status=Video.Status.UPLOADED)
    return {
        "conversation_id": [regular.pk, live.pk, group.pk],
        "network_id": [network.pk],
        "post_id": [post.pk for post in posts],
        "user_id": [alice.id, bob.id, carol.id, dave.id],
        "video_id": [video.pk],
    }


def _config(document: dict[str, Any], data: dict[str, list[int]]) -> str:
    lines = [
        "[checks.positive_data_acceptance]",
        f"expected-statuses = {json.dumps(EXPECTED_FOR_VALID)}",
    ]
    for name, values in data.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}"]
    lines.append("[parameters]")
    for name in data:
        lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.5 }}')
    for item in document["paths"].values():
        for operation in item.values():
            if REFUSALS in operation.get("description", ""):
                lines += [
                    "[[operations]]",
                    f'include-operation-id = "{operation["operationId"]}"',
                    "[operations.checks.positive_data_acceptance]",
                    f"expected-statuses = {json.dumps([*EXPECTED_FOR_VALID, '400'])}",
                ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def server(django_db_blocker: Any) -> Iterator[str]:
    with django_db_blocker.unblock(), daphne() as base:
        yield base


def test_schemathesis_finds_nothing_against_the_live_server(
    server: str, alice: Member, data: dict[str, list[int]], tmp_path: Path
) -> None:
    schema_url = f"{server}/api/v1/schema/?format=json"
    with urllib.request.urlopen(schema_url, timeout=10) as answer:
        document = json.load(answer)
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(document, data), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config),
            "run",
            schema_url,
            "--header",
            f"X-GP-Auth: {alice.auth_header}",
            "--checks",
            "all",
            *(option for path in EXCLUDED_PATHS for option in ("--exclude-path", path)),
            "--seed",
            str(SEED),
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--no-color",
            "--output-truncate",
            "false",
        ],
        # Schemathesis keeps what it needs for `st replay` in its working directory.
        cwd=tmp_path,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.gleepost.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    print(output)  # shown when the test fails, or with -s
    assert result.returncode == 0, output[-20000:]
    assert "Test cases:" in output, output[-5000:]
