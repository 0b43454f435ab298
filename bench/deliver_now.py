"""The CPU of one direct delivery, ``EventConsumer._deliver_now``, in isolation.

    .venv/bin/python bench/deliver_now.py [repeats]     # from a checkout; prints µs per event

A consumer set up as after its handshake forwards stream events that come in order to a send
that completes at once (as daphne's does): the whole hot path of a broadcast delivery on the
server's side but the socket write and the Redis read. Best of ``repeats`` (15) runs of 20,000.
To compare two commits, run it in a worktree of each, alternately, on the same machine.
"""

from __future__ import annotations

import os
import sys
import timeit
from typing import Any

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gleepost.settings")
import django

django.setup()

from realtime.consumers import EventConsumer  # noqa: E402
from realtime.dispatch import SerialDispatcher  # noqa: E402
from realtime.publish import CHANNEL_MESSAGE_TYPE  # noqa: E402


async def send(message: dict[str, Any]) -> None:
    return None


c = EventConsumer()
c.dispatcher = SerialDispatcher()
c.user_id = 1
c.epoch = "e"
c.delivered_seq = 0
c.base_send = send
msg: dict[str, Any] = {
    "type": CHANNEL_MESSAGE_TYPE,
    "text": "{}",
    "event_type": "message",
    "epoch": "e",
}
seq = [0]


def one() -> None:
    seq[0] += 1
    msg["seq"] = seq[0]
    assert c._deliver_now(msg)


n = 20000
best = min(timeit.repeat(one, number=n, repeat=int(sys.argv[1]) if len(sys.argv) > 1 else 15))
print(f"{os.path.basename(os.getcwd())}: {best / n * 1e6:.2f} us per _deliver_now")
