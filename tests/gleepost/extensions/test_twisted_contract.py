"""What gleepost.extensions.twisted relies on in Twisted beyond its documented interfaces
(docs/frameworks.md): each test fails naming the attribute and our module."""

from __future__ import annotations

import pytest
from twisted.internet import abstract, tcp

from tests.gleepost.extensions.contracts import require, require_in_source

TWISTED = "Twisted"


@pytest.mark.parametrize("name", ["dataBuffer", "offset", "_tempDataLen", "_tempDataBuffer"])
def test_twisted_write_buffer_attributes_of_a_connection(name: str) -> None:
    # _tempDataLen and _tempDataBuffer are set in __init__: look on an instance.
    descriptor = abstract.FileDescriptor()
    require(
        descriptor,
        name,
        used_by="gleepost.extensions.twisted.unsent_bytes (the 4009 bound) and _plain_tcp",
        distribution=TWISTED,
    )
    assert issubclass(tcp.Connection, abstract.FileDescriptor), (
        "twisted.internet.tcp.Connection is no longer an abstract.FileDescriptor: "
        "gleepost.extensions.twisted.unsent_bytes reads its write buffer"
    )


@pytest.mark.parametrize(
    ("method", "text"),
    [
        ("write", "self._tempDataLen += len(data)"),
        ("doWrite", "self.dataBuffer, self.offset, self._tempDataBuffer"),
    ],
)
def test_twisted_unsent_bytes_are_the_buffer_plus_the_pending_list(method: str, text: str) -> None:
    require_in_source(
        getattr(abstract.FileDescriptor, method),
        text,
        meaning="unsent bytes = len(dataBuffer) - offset + _tempDataLen",
        used_by="gleepost.extensions.twisted.unsent_bytes (the 4009 bound)",
        distribution=TWISTED,
    )


def test_twisted_plain_tcp_write_goes_through_the_file_descriptor_buffer() -> None:
    require(
        tcp.Connection,
        "TLS",
        used_by="gleepost.extensions.twisted._plain_tcp",
        distribution=TWISTED,
    )
    require_in_source(
        tcp.Connection.write,
        "FileDescriptor.write(self, bytes)",
        meaning="without TLS a write is FileDescriptor's buffered write",
        used_by="gleepost.extensions.twisted._WriteNow",
        distribution=TWISTED,
    )
    require_in_source(
        tcp.Connection.__init__,
        "self.socket",
        meaning="the connection's socket, which _WriteNow sends to",
        used_by="gleepost.extensions.twisted._WriteNow",
        distribution=TWISTED,
    )


def test_twisted_http_writes_a_chunk_of_a_body_as_one_write_sequence() -> None:
    from twisted.web import http

    require_in_source(
        http.Request.write,
        "self.channel.writeSequence(toChunk(data))",
        meaning="a chunked response body's chunk goes to the channel's writeSequence",
        used_by="gleepost.extensions.twisted._WriteNow.write_sequence (SSE streams)",
        distribution=TWISTED,
    )
    require_in_source(
        http.HTTPChannel.writeSequence,
        "self.transport.writeSequence(iovec)",
        meaning="and on to the transport's, which write_at_once_when_idle replaces",
        used_by="gleepost.extensions.twisted._WriteNow.write_sequence (SSE streams)",
        distribution=TWISTED,
    )
