"""A TCP proxy for end-to-end tests that can refuse websocket upgrades, as corporate and campus
proxies that strip the ``Upgrade`` header do: the HTTP transports (SSE, long-poll) still pass."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

REFUSED_UPGRADE = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class UpgradeStrippingProxy:
    """Forwards every connection to ``upstream_port``; while ``strip_upgrade`` is set, answers
    a websocket handshake 400 instead (what a server sees of a handshake whose Upgrade header a
    proxy dropped)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.strip_upgrade = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False

    def serve(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            if self.strip_upgrade and b"upgrade: websocket" in head.lower():
                client.sendall(REFUSED_UPGRADE)
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        upstream.sendall(head)
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)

    def close(self) -> None:
        self.closed = True
        self.listener.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy until either side closes, then close both."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for side in (source, sink):
            with suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)
            side.close()


@contextmanager
def upgrade_stripping_proxy(upstream_port: int) -> Iterator[UpgradeStrippingProxy]:
    proxy = UpgradeStrippingProxy(upstream_port)
    thread = threading.Thread(target=proxy.serve, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.close()
        thread.join(5)
