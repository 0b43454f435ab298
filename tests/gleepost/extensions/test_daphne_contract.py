"""What gleepost.server and gleepost.shutdown rely on in daphne beyond its documented command line
(docs/frameworks.md): each test fails naming the name or the copied method, and our module."""

from __future__ import annotations

import inspect
import textwrap
from importlib.metadata import version

import daphne.cli
import daphne.endpoints
import daphne.http_protocol
import daphne.server
import daphne.ws_protocol
import pytest
from daphne.access import AccessLogGenerator

from tests.gleepost.extensions.contracts import (
    require,
    require_in_source,
    require_unchanged,
)

DAPHNE = "daphne"
AUDITED = "4.2.3"


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        (daphne.cli, "AccessLogGenerator"),
        (daphne.cli.CommandLineInterface, "server_class"),
        (daphne.cli.CommandLineInterface, "entrypoint"),
    ],
)
def test_daphne_cli_globals_the_launcher_replaces(owner: object, name: str) -> None:
    require(owner, name, used_by="gleepost.server.main", distribution=DAPHNE)


@pytest.mark.parametrize(
    "text",
    [
        "AccessLogGenerator(access_log_stream)",
        "self.server_class(",
    ],
)
def test_daphne_cli_looks_the_replaced_globals_up_when_it_runs(text: str) -> None:
    require_in_source(
        daphne.cli.CommandLineInterface.run,
        text,
        meaning="the global gleepost.server.main replaces, read at run time",
        used_by="gleepost.server.main",
        distribution=DAPHNE,
    )


def test_daphne_websocket_factory_builds_its_protocol_class() -> None:
    require(
        daphne.ws_protocol.WebSocketFactory,
        "protocol",
        used_by="gleepost.server.main",
        distribution=DAPHNE,
    )
    assert daphne.ws_protocol.WebSocketFactory.protocol.__name__ in {
        "WebSocketProtocol",
        "BoundedWebSocketProtocol",
    }, "daphne.ws_protocol.WebSocketFactory.protocol is no longer daphne's WebSocketProtocol"


@pytest.mark.parametrize(
    "name",
    [
        "create_application",
        "handle_reply",
        "run",
        "listen_success",
        "kill_all_applications",
        "stop",
        "application_checker",
    ],
)
def test_daphne_server_methods_the_graceful_server_overrides_or_calls(name: str) -> None:
    require(
        daphne.server.Server,
        name,
        used_by="gleepost.shutdown.GracefulServer and gleepost.server.GleepostServer",
        distribution=DAPHNE,
    )


@pytest.mark.parametrize(
    ("method", "text"),
    [
        ("run", "self.connections = {}"),
        ("application_checker", 'details.get("application_instance", None)'),
        ("application_checker", 'details.get("disconnected", None)'),
        ("__init__", "self.signal_handlers = signal_handlers"),
        ("__init__", "self.verbosity = verbosity"),
        ("__init__", "self.application = application"),
    ],
)
def test_daphne_server_attributes_the_drain_reads(method: str, text: str) -> None:
    require_in_source(
        getattr(daphne.server.Server, method),
        text,
        meaning="Server.connections maps each protocol to its application_instance and "
        "disconnected time; signal_handlers, verbosity and application are set or read",
        used_by="gleepost.shutdown.GracefulServer and gleepost.server.GleepostServer",
        distribution=DAPHNE,
    )


def test_daphne_server_triggers_kill_all_applications_before_shutdown() -> None:
    require_in_source(
        daphne.server.Server.run,
        'addSystemEventTrigger("before", "shutdown", self.kill_all_applications)',
        meaning="the drain runs as daphne's before-shutdown trigger",
        used_by="gleepost.shutdown.GracefulServer.kill_all_applications",
        distribution=DAPHNE,
    )


def test_daphne_create_application_is_the_one_copied() -> None:
    require_unchanged(
        daphne.server.Server.create_application,
        "6d6da219bd73c133",
        copy="gleepost.server.GleepostServer._create_websocket_application",
        distribution=DAPHNE,
        audited=AUDITED,
    )


def test_daphne_kill_all_applications_is_the_one_replaced() -> None:
    require_unchanged(
        daphne.server.Server.kill_all_applications,
        "3bbf34f79880baca",
        copy="gleepost.shutdown.GracefulServer.cancel_applications",
        distribution=DAPHNE,
        audited=AUDITED,
    )


@pytest.mark.parametrize(
    "name", ["onConnect", "onOpen", "onClose", "serverSend", "handle_reply", "connectionMade"]
)
def test_daphne_websocket_protocol_methods_the_bounded_protocol_overrides(name: str) -> None:
    require(
        daphne.ws_protocol.WebSocketProtocol,
        name,
        used_by="gleepost.server.BoundedWebSocketProtocol",
        distribution=DAPHNE,
    )


def test_daphne_websocket_protocol_sets_client_addr() -> None:
    require_in_source(
        daphne.ws_protocol.WebSocketProtocol.onConnect,
        "self.client_addr =",
        meaning="the peer's address, logged when a slow client is closed",
        used_by="gleepost.server.BoundedWebSocketProtocol._close_too_slow",
        distribution=DAPHNE,
    )


@pytest.mark.parametrize("name", ["__init__", "__call__", "write_entry"])
def test_daphne_access_log_generator_the_access_log_subclasses(name: str) -> None:
    require(AccessLogGenerator, name, used_by="gleepost.server.AccessLog", distribution=DAPHNE)


@pytest.mark.parametrize(
    ("module", "key"),
    [
        (daphne.http_protocol, '"time_taken": self.duration()'),
        (daphne.http_protocol, '"size": self.sentLength'),
        (daphne.http_protocol, '"method": self.method'),
        (daphne.ws_protocol, '"path": self.request.path'),
    ],
)
def test_daphne_access_log_details_keys(module: object, key: str) -> None:
    require_in_source(
        module,
        key,
        meaning="a key of the details daphne reports each action with",
        used_by="gleepost.server.AccessLog.__call__",
        distribution=DAPHNE,
    )


def test_daphne_handle_reply_completes_without_waiting() -> None:
    # Its docstring aside, the coroutine awaits nothing: a send completes in its first step.
    code = textwrap.dedent(inspect.getsource(daphne.server.Server.handle_reply))
    body = code.split('"""')[-1]
    assert "await" not in body, (
        f"daphne.server.Server.handle_reply now awaits (daphne {version('daphne')}): "
        "realtime.dispatch.SerialDispatcher.send_without_waiting still sends, but each delivery "
        "then finishes on a task; re-measure it (bench/README.md, direct delivery)"
    )
