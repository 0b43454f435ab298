"""Resuming (``websockets.md``): replay what a client missed before this connection, from the
history (realtime.history), or tell it to resync when that cannot be done in order.

A client resumes with ``?since=&epoch=`` on the handshake or a later RESUME frame. Replayed
events come before every live one the connection sends, so the stream stays without gap or
duplicate (realtime.consumer.delivery).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from realtime import events, history, metrics
from realtime.auth import query_params
from realtime.consumer.state import ConnectionState
from realtime.frames import FrameError, parse_epoch, parse_since

_current_position = database_sync_to_async(history.current_position)
_can_resume = database_sync_to_async(history.can_resume)
_events_after = database_sync_to_async(history.events_after)


def resume_query(scope: dict[str, Any]) -> tuple[int, str] | FrameError | None:
    """``?since=&epoch=`` of the handshake: the position, None if absent, or what is wrong."""
    query = query_params(scope)
    if "since" not in query and "epoch" not in query:
        return None
    try:
        return parse_since(query.get("since", [""])[-1]), parse_epoch(query.get("epoch", [""])[-1])
    except FrameError as error:
        return error


class ResumeMixin(ConnectionState):
    """Replays from the history, or resyncs."""

    async def _resume(self, since: int, epoch: str) -> None:
        """Replay what the client missed before this connection, or tell it to resync.

        This connection has sent, in order, every stream event after its position at connect;
        a resume adds (since, position at connect] in front of them. That is only possible in
        order while none has been sent yet: a RESUME frame that comes later than that, for
        events before the connection, gets resync-required instead of an out-of-order replay.
        """
        assert self.user_id is not None
        connected_seq = self.connected_seq
        stale = await _can_resume(self.user_id, since, epoch)
        if stale is None and since >= connected_seq:
            return  # the client already has everything this connection has not sent
        if stale is not None or self.delivered_seq > connected_seq:
            await self._resync()
            return
        await self._replay(since, up_to=connected_seq, advance=False)

    async def _resync(self) -> None:
        assert self.user_id is not None
        position = await _current_position(self.user_id)
        # Everything up to here the client will refetch over REST; later events come live.
        self.epoch = position.epoch
        self.delivered_seq = max(self.delivered_seq, position.seq)
        await self._send_event(
            events.resync_required_event(position.seq, position.epoch), seq=position.seq
        )

    async def _replay(self, since: int, up_to: int | None = None, *, advance: bool = True) -> None:
        assert self.user_id is not None
        cursor = since
        while True:
            batch = await _events_after(self.user_id, cursor, up_to)
            for seq, event_type, text in batch:
                self._send_text(text, event_type, seq)
                metrics.delivered[event_type].inc()
                cursor = seq
            if advance:
                self.delivered_seq = max(self.delivered_seq, cursor)
            if len(batch) < history.REPLAY_BATCH:
                return
