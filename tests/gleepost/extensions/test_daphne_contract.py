"""What gleepost.extensions.daphne relies on in daphne beyond its documented command line
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
OURS = "gleepost.extensions.daphne"


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        (daphne.cli.CommandLineInterface, "server_class"),
        (daphne.cli.CommandLineInterface, "entrypoint"),
    ],
)
def test_daphne_cli_globals_the_launcher_replaces(owner: object, name: str) -> None:
    require(owner, name, used_by=f"{OURS}.run_launcher", distribution=DAPHNE)


def test_daphne_cli_looks_the_replaced_globals_up_when_it_runs() -> None:
    require_in_source(
        daphne.cli.CommandLineInterface.run,
        "self.server_class(",
        meaning="the server class run_launcher replaces, read at run time",
        used_by=f"{OURS}.run_launcher",
        distribution=DAPHNE,
    )


def test_daphne_websocket_factory_builds_its_protocol_class() -> None:
    require(
        daphne.ws_protocol.WebSocketFactory,
        "protocol",
        used_by=f"{OURS}.run_launcher",
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
        used_by=f"{OURS}.Server",
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
        used_by=f"{OURS}.Server",
        distribution=DAPHNE,
    )


def test_daphne_server_triggers_kill_all_applications_before_shutdown() -> None:
    require_in_source(
        daphne.server.Server.run,
        'addSystemEventTrigger("before", "shutdown", self.kill_all_applications)',
        meaning="the drain runs as daphne's before-shutdown trigger",
        used_by=f"{OURS}.Server.kill_all_applications (before_shutdown)",
        distribution=DAPHNE,
    )


def test_daphne_create_application_is_the_one_copied() -> None:
    require_unchanged(
        daphne.server.Server.create_application,
        "6d6da219bd73c133",
        copy=f"{OURS}.Server._create_websocket_application",
        distribution=DAPHNE,
        audited=AUDITED,
    )


def test_daphne_kill_all_applications_is_the_one_replaced() -> None:
    require_unchanged(
        daphne.server.Server.kill_all_applications,
        "3bbf34f79880baca",
        copy="gleepost.shutdown.GracefulServer.cancel_applications (through "
        f"{OURS}.Server.before_shutdown)",
        distribution=DAPHNE,
        audited=AUDITED,
    )


@pytest.mark.parametrize("name", ["onConnect", "onOpen", "onClose", "serverSend", "sendClose"])
def test_daphne_websocket_protocol_methods_the_bounded_protocol_overrides(name: str) -> None:
    require(
        daphne.ws_protocol.WebSocketProtocol,
        name,
        used_by=f"{OURS}.WebSocketProtocol",
        distribution=DAPHNE,
    )


def test_daphne_websocket_protocol_sends_what_the_application_sends_through_server_send() -> None:
    require_in_source(
        daphne.ws_protocol.WebSocketProtocol.handle_reply,
        "self.serverSend(",
        meaning="every frame the application sends goes through serverSend (the 4009 bound)",
        used_by=f"{OURS}.WebSocketProtocol.serverSend (may_send)",
        distribution=DAPHNE,
    )
    require_in_source(
        daphne.ws_protocol.WebSocketProtocol.serverClose,
        "self.sendClose(",
        meaning="the application's close goes through sendClose (the close code logged)",
        used_by=f"{OURS}.WebSocketProtocol.sendClose",
        distribution=DAPHNE,
    )


@pytest.mark.parametrize("name", ["host", "request", "status", "length"])
def test_daphne_access_log_write_entry_parameters(name: str) -> None:
    parameters = inspect.signature(AccessLogGenerator.write_entry).parameters
    assert name in parameters, (
        f"daphne.access.AccessLogGenerator.write_entry has no parameter {name!r} in daphne "
        f"{version('daphne')}: {OURS}.redacting binds it (docs/frameworks.md)"
    )


def test_daphne_access_log_keeps_its_stream() -> None:
    require_in_source(
        AccessLogGenerator.__init__,
        "self.stream = stream",
        meaning="the access log's stream, which the launcher's records are written to",
        used_by=f"{OURS}.redacting (write_access_log_with)",
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


def test_daphne_http_factory_builds_the_module_web_request() -> None:
    require(daphne.http_protocol, "WebRequest", used_by=f"{OURS}.run_launcher", distribution=DAPHNE)
    require_in_source(
        daphne.http_protocol.HTTPFactory.buildProtocol,
        "protocol.requestFactory = WebRequest",
        meaning="the request class run_launcher replaces, read when each connection is built",
        used_by=f"{OURS}.run_launcher",
        distribution=DAPHNE,
    )


@pytest.mark.parametrize("name", ["handle_reply", "finish", "channel", "client_addr"])
def test_daphne_web_request_names_the_bounded_request_uses(name: str) -> None:
    owner = daphne.http_protocol.WebRequest
    if name == "channel":  # an instance attribute of Twisted's Request, set in __init__
        require_in_source(
            owner.__mro__[1].__init__,
            "self.channel = channel",
            meaning="the HTTP connection a request writes to",
            used_by="gleepost.server.BoundedWebRequest",
            distribution="Twisted",
        )
        return
    if name == "client_addr":
        require_in_source(
            owner.__init__,
            "self.client_addr",
            meaning="the client's address, logged",
            used_by="gleepost.server.BoundedWebRequest",
            distribution=DAPHNE,
        )
        return
    require(owner, name, used_by=f"{OURS}.WebRequest", distribution=DAPHNE)
