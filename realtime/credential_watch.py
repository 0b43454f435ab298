"""Each process re-reads the credentials its connections hold, where no revocation can reach it.

A credential ended in another process (``manage.py changepassword``, a shell's
``set_password()``, ``clearsessions``, a second daphne) reaches this process's connections as a
message through the channel layer (realtime.access). The in-memory layer, the embedded default
of ``./scripts/serve``, carries nothing between processes: without this, those sockets stayed
open until the credential's expiry while REST already refused it. So with that layer this
process asks the database every ``CREDENTIAL_RECHECK_SECS`` which of the credentials held here
ended (``access.ended_among``: one query for every token), and tells each connection holding
one to look at it again; the connection decides, by the same reading, and closes as on a
revocation.

It also catches what sends no signal at all (raw SQL, an expiry moved earlier). With Redis,
which carries revocations, it does not run: a process's connections cost it nothing then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer

from gleepost import log_context
from gleepost.conf import gp_settings
from realtime import access

logger = logging.getLogger(__name__)

Recheck = Callable[[], None]

_ended_among = database_sync_to_async(access.ended_among)


def applies() -> bool:
    """Whether this process must watch: its channel layer is process-local, and the watch on."""
    return (
        isinstance(get_channel_layer(), InMemoryChannelLayer)
        and gp_settings.CREDENTIAL_RECHECK_SECS > 0
    )


class CredentialWatch:
    """The credentials held by this process's connections, re-read while any is held.

    Runs on the event loop that holds them (daphne's); ``recheck`` callbacks run there too."""

    def __init__(self) -> None:
        self._held: dict[access.Credential, set[Recheck]] = {}
        self._task: asyncio.Task[None] | None = None

    def hold(self, credential: access.Credential, recheck: Recheck) -> None:
        """Call ``recheck`` when ``credential`` is seen ended, until ``release``; nothing
        where the watch does not apply."""
        if not applies():
            return
        self._held.setdefault(credential, set()).add(recheck)
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = log_context.run_unbound(loop.create_task, self._watch())

    def release(self, credential: access.Credential, recheck: Recheck) -> None:
        rechecks = self._held.get(credential)
        if rechecks is not None:
            rechecks.discard(recheck)
            if not rechecks:
                del self._held[credential]

    @property
    def held(self) -> int:
        """How many distinct credentials are held."""
        return len(self._held)

    async def _watch(self) -> None:
        while self._held:
            await asyncio.sleep(gp_settings.CREDENTIAL_RECHECK_SECS)
            credentials = tuple(self._held)
            if not credentials:
                return
            try:
                ended = await _ended_among(credentials)
            except Exception:
                # The database away: the next round tries again; REST refuses meanwhile.
                logger.warning("could not re-read %d credentials", len(credentials), exc_info=True)
                continue
            for credential in ended:
                for recheck in tuple(self._held.get(credential, ())):
                    recheck()


credential_watch = CredentialWatch()
