"""What the client sends (``websockets.md``): frames parsed by ``realtime.frames``, acted on
here; typing and presence.

Hostile clients (issue 5, Limits): every client frame counts against ``MAX_FRAMES_PER_SEC``
before it is parsed, so a flood costs little, and a connection that keeps sending past it is
closed with 4008 (realtime.throttling).

Typing and presence: live-only, never stored. Frames over their own rate limit are dropped
silently (see realtime.throttling); a dropped "typing": false is superseded by the sender's next
frame, and clients let an indicator lapse after a few seconds anyway.
"""

from __future__ import annotations

import time
from typing import Any

from channels.db import database_sync_to_async
from django.utils import timezone

from accounts.actions import do_set_presence
from accounts.models import User
from conversations.selectors import Participation, participation
from realtime import events, metrics
from realtime.close_codes import CLOSE_POLICY
from realtime.consumer.resume import ResumeMixin
from realtime.consumer.subscriptions import SubscriptionsMixin
from realtime.frames import (
    FrameError,
    Presence,
    Resume,
    Subscribe,
    Typing,
    Unsubscribe,
    parse_frame,
)
from realtime.groups import user_group
from realtime.publish import publish_now
from realtime.throttling import Verdict

RATE_LIMITED = "rate limited"

_participation = database_sync_to_async(participation)
_set_presence = database_sync_to_async(do_set_presence)


class ClientFramesMixin(ResumeMixin, SubscriptionsMixin):
    """Acts on the client's frames, within their rate limits."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user_id is None:
            return  # refused at connect or closed since; the close is under way
        verdict = self.frame_limit.check()
        if verdict is not Verdict.ACT:
            await self._refuse_frame(verdict)
            return
        try:
            action = parse_frame(text_data, bytes_data)
        except FrameError as error:
            metrics.count_error("frame")
            await self._send_event(events.error_event(error.reason))
            return
        if isinstance(action, Subscribe):
            await self._subscribe(action)
        elif isinstance(action, Unsubscribe):
            await self._unsubscribe(action)
        elif isinstance(action, Resume):
            await self._resume(action.since, action.epoch)
        elif isinstance(action, Typing):
            await self._typing(action)
        elif isinstance(action, Presence):
            await self._presence(action)

    async def _refuse_frame(self, verdict: Verdict) -> None:
        """A frame past MAX_FRAMES_PER_SEC: not acted on, answered at most once a second."""
        if verdict is Verdict.REFUSE:
            return
        metrics.count_error("rate_limited")
        await self._send_event(events.error_event(RATE_LIMITED))
        if verdict is Verdict.CLOSE:
            await self._leave_everything()
            await self._end(CLOSE_POLICY)

    async def _typing(self, action: Typing) -> None:
        """Tell the conversation's other participants; never the sender's own connections."""
        if not self.typing_limit.allow():
            return
        assert self.user_id is not None
        standing = await self._participation(action.conversation)
        if not standing.participant:
            # The same answer for a conversation that does not exist.
            reason = "not allowed"
        elif not standing.is_open(timezone.now()):
            reason = "conversation has ended"
        else:
            event = events.typing_event(action.conversation, self.user_id, action.typing)
            publish_now(event, [user_group(u) for u in standing.others])
            return
        await self._send_event(events.conversation_refused_event(action.conversation, reason))

    async def _participation(self, conversation_id: int) -> Participation:
        assert self.user_id is not None
        now = time.monotonic()
        trusted_secs = self.limits.participation_cache_secs
        cached = self.participations.get(conversation_id)
        if cached is not None and now - cached[0] < trusted_secs:
            return cached[1]
        standing = await _participation(self.user_id, conversation_id)
        if len(self.participations) >= self.limits.cached_conversations:
            self.participations = {
                c: entry
                for c, entry in self.participations.items()
                if now - entry[0] < trusted_secs
            }
        self.participations[conversation_id] = (now, standing)
        return standing

    async def realtime_conversation_changed(self, message: dict[str, Any]) -> None:
        """Someone joined or left the conversation, or it ended: read it afresh for typing."""
        self.participations.pop(message["conversation"], None)

    async def _presence(self, action: Presence) -> None:
        """Store it on the user; realtime.receivers tells those who share a conversation."""
        if self.presence_limit.allow():
            # A User with only its id: what do_set_presence writes by (no query to read it).
            await _set_presence(User(pk=self.user_id), action.form)
