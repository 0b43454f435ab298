"""Who counts as a participant is defined once, and a live conversation's end is read from its
expiry."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from conversations import actions
from conversations.models import Conversation, Participant
from tests.conftest import Member

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / "conversations" / "models.py"
# The rule in the ORM's words or in SQL's ("left_at" IS NULL, any case, quoted or not).
SPELLINGS = re.compile(r'left_at__isnull|left_at"?`?\s+is\s+null', re.IGNORECASE)
NOT_SOURCE = {".venv", "node_modules", "migrations", "tests"}


def project_sources() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*.py")
        if not any(
            part in NOT_SOURCE or part.startswith(".") for part in path.relative_to(ROOT).parts
        )
    ]


def test_active_participant_is_spelled_out_only_in_its_definition() -> None:
    found = {
        str(path.relative_to(ROOT)): len(SPELLINGS.findall(path.read_text(encoding="utf-8")))
        for path in project_sources()
    }
    assert {path: n for path, n in found.items() if n} == {"conversations/models.py": 1}


def test_the_scan_sees_the_project() -> None:
    sources = {str(path.relative_to(ROOT)) for path in project_sources()}
    assert {"conversations/queries.py", "realtime/receivers.py"} <= sources
    assert not any(s.startswith(("tests/", ".venv/")) or "/migrations/" in s for s in sources)


@pytest.mark.django_db
def test_is_active_agrees_with_the_active_queryset(
    alice: Member, bob: Member, carol: Member
) -> None:
    conversation, _ = actions.do_create_conversation(alice.user, [bob.id, carol.id])
    actions.do_leave_conversation(conversation, carol.user)
    loaded = list(Participant.objects.all())
    assert {p.user_id for p in loaded if p.is_active} == {alice.id, bob.id}
    assert set(Participant.objects.active().values_list("user_id", flat=True)) == {
        alice.id,
        bob.id,
    }
    assert set(conversation.participants.active().values_list("user_id", flat=True)) == {
        alice.id,
        bob.id,
    }


@pytest.mark.django_db
def test_live_conversation_past_its_expiry_has_ended_before_the_job_ends_it(
    alice: Member, bob: Member
) -> None:
    live, _ = actions.do_create_conversation(alice.user, [bob.id], live=True)
    regular, _ = actions.do_create_conversation(alice.user, [bob.id])
    assert not live.has_ended and not regular.has_ended
    Conversation.objects.filter(pk=live.pk).update(
        expiry_time=timezone.now() - timedelta(seconds=1)
    )
    live.refresh_from_db()
    assert live.has_ended and not live.ended
