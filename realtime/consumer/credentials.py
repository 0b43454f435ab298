"""Access that ends while connected: the credential a connection was opened with (a token or a
session) is revoked, expires, or is seen ending by this process's credential watch
(realtime.credential_watch); the connection then leaves every group and closes with
``CLOSE_INVALID_CREDENTIALS``.

A revocation reaches the connection through its user's group (realtime.access); an expiry
through a timer set for it; either is checked against the database in turn with the
connection's other messages, since a session may have been renewed by a later request.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from django.utils import timezone

from realtime import access
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS
from realtime.consumer.subscriptions import SubscriptionsMixin

INVALID_CREDENTIALS = '{"error":"Invalid credentials"}'

_still_valid = database_sync_to_async(access.still_valid)


class CredentialsMixin(SubscriptionsMixin):
    """Ends the connection when its credential ends."""

    async def realtime_credentials_revoked(self, message: dict[str, Any]) -> None:
        """Credentials of the user ended (realtime.access): if this connection's is one, it
        ends (``_end_access``)."""
        if self.credential is not None and self.credential.ended_by(message):
            await self._end_access()

    async def realtime_credential_check(self, message: dict[str, Any]) -> None:
        """The credential's expiry came (``_end_at``), or this process's credential watch saw
        it end: end the connection, unless the database says it is still valid (a session
        renewed by a later request)."""
        if self.credential is None:
            return
        expiry = await _still_valid(self.credential)
        if expiry is None:
            await self._end_access()
        else:
            self._end_at(expiry)

    def _end_at(self, expiry: datetime) -> None:
        """Look at the credential again when it expires."""
        if self.expiry_timer is not None:
            self.expiry_timer.cancel()
        delay = max(0.0, (expiry - timezone.now()).total_seconds())
        self.expiry_timer = asyncio.get_running_loop().call_later(delay, self._check_credential)

    def _check_credential(self) -> None:
        """Look at the credential again, in turn with the connection's other messages; once
        at a time."""
        if self.credential_check is not None and not self.credential_check.done():
            return
        # Held until it is done: the loop keeps only a weak reference to a task.
        self.credential_check = self.dispatcher.dispatch_soon(
            {"type": "realtime.credential_check"}, self.dispatch
        )

    async def _end_access(self) -> None:
        self.credential = None
        await self._leave_everything()
        await self._end(CLOSE_INVALID_CREDENTIALS, INVALID_CREDENTIALS)
