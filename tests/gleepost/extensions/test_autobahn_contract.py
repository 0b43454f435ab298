"""What gleepost.extensions.autobahn relies on in autobahn beyond its documented API
(docs/frameworks.md): each test fails naming the name and our module."""

from __future__ import annotations

from autobahn.websocket.protocol import WebSocketProtocol

from tests.gleepost.extensions.contracts import require, require_in_source

AUTOBAHN = "autobahn"


def test_autobahn_send_close_frame_for_1001() -> None:
    used_by = "gleepost.extensions.autobahn.send_going_away (the graceful drain)"
    require(WebSocketProtocol, "sendCloseFrame", used_by=used_by, distribution=AUTOBAHN)
    require_in_source(
        WebSocketProtocol.sendCloseFrame,
        "reasonUtf8",
        meaning="sendCloseFrame(code=, reasonUtf8=) sends any code, 1001 included",
        used_by=used_by,
        distribution=AUTOBAHN,
    )


def test_autobahn_close_handshake_timeout_set_per_connection() -> None:
    used_by = "gleepost.extensions.autobahn.set_close_handshake_timeout (4009, 1001)"
    assert "closeHandshakeTimeout" in WebSocketProtocol.CONFIG_ATTRS_COMMON, (
        "autobahn's WebSocketProtocol.CONFIG_ATTRS_COMMON no longer has closeHandshakeTimeout: "
        f"{used_by} set it per connection"
    )
    require_in_source(
        WebSocketProtocol.sendCloseFrame,
        "self.closeHandshakeTimeout",
        meaning="the close handshake's timeout is read from the connection when it closes",
        used_by=used_by,
        distribution=AUTOBAHN,
    )
