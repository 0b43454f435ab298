"""Drop stored stream events past the retention limits (GLEEPOST EVENT_HISTORY_*)."""

from __future__ import annotations

from gleepost.periodic import PeriodicCommand
from realtime.history import prune


class Command(PeriodicCommand):
    help = "Delete stream events older than EVENT_HISTORY_HOURS or beyond EVENT_HISTORY_PER_USER."
    default_interval_secs = 300.0

    def run_once(self) -> bool:
        deleted = prune()
        self.stdout.write(f"pruned {deleted} stream event(s)")
        return False
