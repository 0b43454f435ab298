"""Connections per user (issue 5, Limits): at most ``MAX_CONNECTIONS_PER_USER`` open at once,
counted across every daphne process.

With ``REDIS_URL`` each user has a sorted set ``{REDIS_PREFIX}:conns:{user_id}`` of connection
ids, scored by the wall-clock time of each one's last heartbeat. A connection takes a slot when
it opens, in one script that first prunes the members older than ``STALE_SECS`` and counts the
rest (so two processes cannot both take the last slot); its score is refreshed every
``HEARTBEAT_SECS`` and it gives the slot back when it closes. One task per process refreshes
all of its connections, in pipelined batches: a task per connection cost ~1.5 KiB of memory
each (bench/README.md, "Memory per connection") and a round trip each. A process that dies
without closing its connections leaves members nobody refreshes: the user's next connection
prunes them, and the whole set expires ``STALE_SECS`` after its last refresh, so a crash
inflates a count for a minute and a half at most. The scores are the processes' own clocks:
they must agree to well within ``STALE_SECS - HEARTBEAT_SECS`` (NTP does). Without Redis (one
process, the in-memory channel layer) the count is kept in memory.

The limit fails open: a Redis error or timeout lets the connection in, and is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from gleepost import log_context
from gleepost.conf import gp_settings

logger = logging.getLogger(__name__)

HEARTBEAT_SECS = 30.0
# Three missed heartbeats: the member's connection (or its process) is gone.
STALE_SECS = 90.0
# A connection waits at most this long on Redis before it is let in uncounted.
REDIS_TIMEOUT_SECS = 0.5
# Connections refreshed per round trip by the heartbeat (each within REDIS_TIMEOUT_SECS).
HEARTBEAT_BATCH = 500

# KEYS[1]: the user's set. ARGV: now, prune at or below, limit, connection id, ttl in seconds.
_TAKE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
    return 0
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class ConnectionCounter(Protocol):
    heartbeat: bool

    async def add(self, user_id: int, connection_id: str, limit: int) -> bool:
        """Count the connection unless ``limit`` are counted already; True if it was."""

    async def refresh(self, user_id: int, connection_id: str) -> None:
        """The connection is still open (only counters with ``heartbeat`` need to hear it)."""

    async def refresh_many(self, connections: Sequence[tuple[int, str]]) -> None:
        """``refresh`` each (user id, connection id), in one round trip where it can."""

    async def remove(self, user_id: int, connection_id: str) -> None:
        """The connection closed."""


class LocalConnectionCounter:
    """One process: its connections are all it needs to count, and none can outlive it."""

    heartbeat = False

    def __init__(self) -> None:
        self._open: dict[int, set[str]] = {}

    async def add(self, user_id: int, connection_id: str, limit: int) -> bool:
        open_ids = self._open.setdefault(user_id, set())
        if len(open_ids) >= limit:
            return False
        open_ids.add(connection_id)
        return True

    async def refresh(self, user_id: int, connection_id: str) -> None:
        pass

    async def refresh_many(self, connections: Sequence[tuple[int, str]]) -> None:
        pass

    async def remove(self, user_id: int, connection_id: str) -> None:
        open_ids = self._open.get(user_id)
        if open_ids is not None:
            open_ids.discard(connection_id)
            if not open_ids:
                del self._open[user_id]


class RedisConnectionCounter:
    """Every process: a sorted set per user in Redis, of heartbeats (see the module)."""

    heartbeat = True

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        self._url = url
        self._clock = clock
        # A client per event loop: redis.asyncio connections belong to the loop that made them.
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}

    def _client(self) -> Any:
        from redis import asyncio as aioredis

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # Forget the clients of loops that have closed (the tests run one loop per test).
            for closed in [old for old in self._clients if old.is_closed()]:
                del self._clients[closed]
            client = aioredis.from_url(
                self._url,
                socket_timeout=REDIS_TIMEOUT_SECS,
                socket_connect_timeout=REDIS_TIMEOUT_SECS,
            )
            self._clients[loop] = client
        return client

    @staticmethod
    def key(user_id: int) -> str:
        return f"{settings.REDIS_PREFIX}:conns:{user_id}"

    async def add(self, user_id: int, connection_id: str, limit: int) -> bool:
        now = self._clock()
        added = await self._client().eval(
            _TAKE_SLOT,
            1,
            self.key(user_id),
            now,
            now - STALE_SECS,
            limit,
            connection_id,
            int(STALE_SECS),
        )
        return bool(added)

    async def refresh(self, user_id: int, connection_id: str) -> None:
        await self.refresh_many([(user_id, connection_id)])

    async def refresh_many(self, connections: Sequence[tuple[int, str]]) -> None:
        # XX: a member already pruned (its process stalled past STALE_SECS), or released,
        # stays out rather than push the user over the limit; it only ever makes the count
        # lower.
        now = self._clock()
        async with self._client().pipeline(transaction=False) as pipe:
            for user_id, connection_id in connections:
                pipe.zadd(self.key(user_id), {connection_id: now}, xx=True)
                pipe.expire(self.key(user_id), int(STALE_SECS))
            await pipe.execute()

    async def remove(self, user_id: int, connection_id: str) -> None:
        await self._client().zrem(self.key(user_id), connection_id)

    async def count(self, user_id: int) -> int:
        """The members counted now, stale ones included until the next connection prunes them."""
        return int(await self._client().zcard(self.key(user_id)))


@dataclass(eq=False, slots=True)
class Slot:
    """One connection's place among its user's; ``release`` it when the connection ends."""

    counter: ConnectionCounter
    user_id: int
    connection_id: str

    def start_heartbeat(self) -> None:
        if self.counter.heartbeat:
            _Heartbeat.of(self.counter).add(self)

    async def release(self) -> None:
        """Give the slot back; idempotent, never raises."""
        if self.counter.heartbeat:
            _Heartbeat.of(self.counter).slots.discard(self)  # its task ends with the last
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECS):
                await self.counter.remove(self.user_id, self.connection_id)
        except Exception:
            # Pruned as stale within STALE_SECS, since nothing refreshes it any more.
            logger.warning("releasing a connection of user %s failed", self.user_id, exc_info=True)


class _Heartbeat:
    """The heartbeat of every slot of one counter on one event loop: a task that runs while
    there are slots, refreshing them all every ``HEARTBEAT_SECS``."""

    # (counter, loop) -> its heartbeat; a counter's Redis client belongs to one loop too.
    _all: dict[tuple[int, asyncio.AbstractEventLoop], _Heartbeat] = {}

    def __init__(self, counter: ConnectionCounter) -> None:
        self.counter = counter
        self.slots: set[Slot] = set()
        self.task: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, counter: ConnectionCounter) -> _Heartbeat:
        loop = asyncio.get_running_loop()
        key = (id(counter), loop)
        heartbeat = cls._all.get(key)
        if heartbeat is None or heartbeat.counter is not counter:
            # Forget the heartbeats of loops that have closed (the tests run one per test).
            for closed in [k for k in cls._all if k[1].is_closed()]:
                del cls._all[closed]
            heartbeat = cls._all[key] = cls(counter)
        return heartbeat

    def add(self, slot: Slot) -> None:
        self.slots.add(slot)
        if self.task is None:
            loop = asyncio.get_running_loop()
            self.task = log_context.run_unbound(loop.create_task, self._beat())

    async def _beat(self) -> None:
        try:
            while self.slots:
                await asyncio.sleep(HEARTBEAT_SECS)
                beating = [(slot.user_id, slot.connection_id) for slot in self.slots]
                for start in range(0, len(beating), HEARTBEAT_BATCH):
                    await self._refresh(beating[start : start + HEARTBEAT_BATCH])
        finally:
            self.task = None

    async def _refresh(self, batch: list[tuple[int, str]]) -> None:
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECS):
                await self.counter.refresh_many(batch)
        except Exception:
            # Pruned as stale after STALE_SECS if it keeps failing: the limit fails open.
            logger.warning(
                "heartbeat of %d connection(s) (users %s...) failed",
                len(batch),
                ", ".join(str(user_id) for user_id, _ in batch[:3]),
                exc_info=True,
            )


_counter: ConnectionCounter | None = None


def counter() -> ConnectionCounter:
    """The process's counter: Redis when REDIS_URL is set, memory otherwise."""
    global _counter
    if _counter is None:
        url = getattr(settings, "REDIS_URL", "")
        _counter = RedisConnectionCounter(url) if url else LocalConnectionCounter()
    return _counter


async def take_slot(
    user_id: int, connection_id: str, counter_: ConnectionCounter | None = None
) -> Slot | None:
    """A slot among the user's ``MAX_CONNECTIONS_PER_USER``, or None when all are taken."""
    counting = counter_ if counter_ is not None else counter()
    limit = gp_settings.MAX_CONNECTIONS_PER_USER
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_SECS):
            if not await counting.add(user_id, connection_id, limit):
                return None
    except Exception:
        logger.warning(
            "counting the connections of user %s failed; letting this one in",
            user_id,
            exc_info=True,
        )
    slot = Slot(counting, user_id, connection_id)
    slot.start_heartbeat()
    return slot
