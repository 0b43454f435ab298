"""The handshake (``websockets.md``): authenticate, take a connection slot, join the user's
group, check the credential again, then open, whatever the transport.

Bad credentials are answered with ``{"error":"Invalid credentials"}`` and
``CLOSE_INVALID_CREDENTIALS`` (a websocket is accepted to say so). A connection that would take
its user past ``MAX_CONNECTIONS_PER_USER`` is refused with 4008 (issue 5, Limits;
realtime.connection_limits).
The order of the join, the second check and the position read is what makes the stream start
without gap or duplicate (see ``connect``).
"""

from __future__ import annotations

from datetime import datetime

from channels.db import database_sync_to_async

from accounts.tokens import Credentials, authenticate_credentials
from gleepost.conf import gp_settings
from realtime import access, events, history, metrics
from realtime.auth import authenticate
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS, CLOSE_POLICY
from realtime.connection_limits import take_slot
from realtime.consumer.credentials import INVALID_CREDENTIALS, CredentialsMixin
from realtime.consumer.resume import ResumeMixin
from realtime.consumer.state import ConnectionLimits
from realtime.credential_watch import credential_watch
from realtime.frames import FrameError
from realtime.groups import user_group
from realtime.throttling import FrameRateLimit, SlidingWindowLimit

TOO_MANY_CONNECTIONS = "too many connections"


@database_sync_to_async
def _position_if_still_valid(
    credential: access.Credential, presented: Credentials | None
) -> tuple[history.Position, datetime] | None:
    """The stream's position and the credential's expiry, read after joining the user's
    group in one trip to the database; None if the credential ended since it was checked.

    A token is checked again as it was the first time, from the credentials ``presented``
    (``authenticate_credentials``: one query whose SQL is built once), rather than by
    ``access.still_valid``'s ORM query: 0.27 ms of CPU against 1.04, and 6.33 ms per
    reconnection against 7.41 (bench/README.md, "Handshakes")."""
    if presented is not None:
        found = authenticate_credentials(presented)
        if found is None or found[1].pk != credential.token_id:
            return None
        expiry: datetime | None = found[1].expires_at
    else:
        expiry = access.still_valid(credential)
    if expiry is None:
        return None
    return history.current_position(credential.user_id), expiry


class HandshakeMixin(ResumeMixin, CredentialsMixin):
    """Opens the connection, or refuses it; leaves every group when it closes."""

    async def connect(self) -> None:
        self.user_id = None
        self.subscribed_posts = {}
        self.subscribed_networks = set()
        self.limits = ConnectionLimits.from_settings()
        self.typing_limit = SlidingWindowLimit(gp_settings.MAX_TYPING_FRAMES_PER_SEC, 1.0)
        self.presence_limit = SlidingWindowLimit(gp_settings.MAX_PRESENCE_FRAMES_PER_SEC, 1.0)
        self.frame_limit = FrameRateLimit(
            gp_settings.MAX_FRAMES_PER_SEC,
            gp_settings.MAX_REFUSED_FRAMES,
            gp_settings.REFUSED_FRAMES_WINDOW_SECS,
        )
        self.participations = {}
        result = await authenticate(self.scope)
        if result is None:
            await self._refuse_credentials()
            return
        user, token, presented = result.user, result.token, result.credentials
        if token is not None:
            credential = access.Credential(user.pk, token_id=token.pk)
        else:
            credential = access.Credential(user.pk, session_key=self.scope["session"].session_key)
        self.slot = await take_slot(user.pk, self.channel_name)
        if self.slot is None:
            metrics.count_error("too_many_connections")
            await self._refuse(CLOSE_POLICY, events.error_event(TOO_MANY_CONNECTIONS).text)
            return
        # Join, then check the credential again and read the position, in one trip: a
        # revocation committed before that read is seen by the check, one committed after it
        # reaches this connection through the group (realtime.access). Every event committed
        # after the read is published after the join, so it arrives live; those committed
        # before it are at or below the position, and their live copies (queued meanwhile: the
        # dispatcher is busy until connect returns) are dropped as already sent. The
        # connection starts at the position without reading the history. Joining before
        # accepting: once the client sees the socket open, every event for the user reaches it
        # (a REST call made right after "open" cannot race the join).
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        state = await _position_if_still_valid(credential, presented)
        if state is None:
            await self.channel_layer.group_discard(user_group(user.pk), self.channel_name)
            await self._refuse_credentials()
            return
        position, expiry = state
        # Ids only, not the User instance: each connection would hold it (and its fields) for
        # its lifetime (bench/README.md, "Memory per connection").
        self.user_id = user.pk
        self.credential = credential
        self._end_at(expiry)
        self.watched = credential
        credential_watch.hold(credential, self._check_credential)
        self.connected_seq = position.seq
        self.delivered_seq = position.seq
        self.epoch = position.epoch
        await self._open()
        resume = self._resume_asked()
        if isinstance(resume, FrameError):
            metrics.count_error("frame")
            await self._send_event(events.error_event(resume.reason))
            await self._resync()
        elif resume is not None:
            await self._resume(*resume)
        await self._opened()

    async def _refuse_credentials(self) -> None:
        """The protocol's answer to bad credentials: say why, close."""
        metrics.count_error("invalid_credentials")
        await self._refuse(CLOSE_INVALID_CREDENTIALS, INVALID_CREDENTIALS)

    async def disconnect(self, code: int) -> None:
        """The websocket's client closed it (an HTTP stream's: realtime.consumer.streams)."""
        await self._leave_everything()
