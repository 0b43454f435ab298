"""The websocket transport (``websockets.md``): events are text frames, a connection ends with
a close code, a refused one is accepted first so that it can say why.

Client frames (SUBSCRIBE, RESUME, typing, presence) are the websocket's alone:
realtime.consumer.client_frames.
"""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer

from realtime.consumer.resume import resume_query
from realtime.consumer.state import ConnectionState
from realtime.frames import FrameError


class WebsocketTransport(ConnectionState, AsyncWebsocketConsumer):
    """Sends events as websocket text frames."""

    async def _open(self) -> None:
        await self.accept()

    def _send_text(self, text: str, event_type: str | None, seq: int | None) -> None:
        # daphne's send completes without waiting (docs/frameworks.md, row 10): no task
        # switch per event.
        self.send_without_waiting({"type": "websocket.send", "text": text})

    async def _refuse(self, code: int, notice: str) -> None:
        await self.accept()
        await self._end(code, notice)

    async def _end(self, code: int, notice: str | None = None) -> None:
        if notice is not None:
            await self.send(text_data=notice)
        await self.close(code=code)

    def _resume_asked(self) -> tuple[int, str] | FrameError | None:
        return resume_query(self.scope)
