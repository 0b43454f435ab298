"""autobahn's websocket close, where its documented ``sendClose`` does not reach.

What each private use buys (docs/frameworks.md, rows 15 and 17):

- ``send_going_away`` sends 1001 through ``WebSocketProtocol.sendCloseFrame`` (its docstring:
  "an internal method"): ``sendClose`` accepts only 1000 and 3000-4999, and RFC 6455's 1001
  (going away) is what a draining server owes its clients, who reconnect to another process at
  once (gleepost.shutdown; tests/gleepost/test_shutdown.py). daphne sends its 1011 the same way.
  The graceful drain: a correctness property, no benchmark figure.
- ``set_close_handshake_timeout`` sets ``closeHandshakeTimeout`` on one connection, a factory
  option that autobahn reads per instance: a slow client gets ``GLEEPOST_SLOW_CLIENT_ABORT_SECS``
  (5 s) to read its 4009 (gleepost.server), a draining one 1 s for its 1001, instead of the
  factory's one value for every connection. The 4009 bound and the drain; no benchmark figure.

Relies on: autobahn 26.11's ``WebSocketProtocol.sendCloseFrame(code, reasonUtf8)`` and its reading
of ``self.closeHandshakeTimeout`` when it closes (tests/gleepost/extensions/
test_autobahn_contract.py).
Retired by: ``sendClose`` accepting 1001 from a server (RFC 6455, 7.4.1, allows it; no upstream
issue filed yet), and a timeout argument to ``sendClose``.
"""

from __future__ import annotations

from typing import Any

from realtime.close_codes import CLOSE_GOING_AWAY


def send_going_away(protocol: Any, reason: bytes) -> None:
    """Send an open websocket the 1001 close frame (going away), with ``reason``."""
    protocol.sendCloseFrame(code=CLOSE_GOING_AWAY, reasonUtf8=reason)


def set_close_handshake_timeout(protocol: Any, secs: float) -> None:
    """Drop ``protocol``'s connection if its peer has not answered a close within ``secs``."""
    protocol.closeHandshakeTimeout = secs
