"""End live conversations whose expiry has passed (each with its ended-conversation event)."""

from __future__ import annotations

from conversations.actions import EXPIRY_PASS_SIZE, do_end_expired_conversations
from gleepost.periodic import PeriodicCommand


class Command(PeriodicCommand):
    help = "End every live conversation whose expiry time has passed; --loop keeps doing it."
    default_interval_secs = 5.0

    def run_once(self) -> bool:
        ended = do_end_expired_conversations()
        for conversation_id in ended:
            self.stdout.write(f"ended conversation {conversation_id}")
        return len(ended) >= EXPIRY_PASS_SIZE
