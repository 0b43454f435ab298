"""deploy/nginx/gleepost.conf, run by Debian's nginx in front of two real daphne processes (the
websockets) and two real gunicorn processes (REST), the production layout.

The committed file is used as it is, with only its ports and paths replaced (an unprivileged
port for each listener, the test's ports in the upstreams, temporary directories): what passes
here is that file. daphne and gunicorn run with the commands of the committed systemd units and
the proxy settings of the committed env example.
"""

from __future__ import annotations

import asyncio
import datetime
import http.client
import ipaddress
import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import Client
from websockets.asyncio.client import ClientConnection, connect

from realtime.close_codes import CLOSE_INVALID_CREDENTIALS
from tests.conftest import IN_CI, Member
from tests.realtime.e2e import in_thread
from tests.servers import (
    ROOT,
    daphne,
    daphne_log_path,
    free_port,
    gunicorn,
    gunicorn_log_path,
    stop_process,
    wait_for_port,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
]

SITE_CONF = ROOT / "deploy" / "nginx" / "gleepost.conf"
DAPHNE_UNIT = ROOT / "deploy" / "systemd" / "gleepost-daphne@.service"
REST_UNIT = ROOT / "deploy" / "systemd" / "gleepost-rest@.service"
ENV_EXAMPLE = ROOT / "deploy" / "gleepost.env.example"


@dataclass
class Deployment:
    """nginx on ``https``/``http`` in front of the daphne processes on ``upstream_ports`` and
    the gunicorn processes on ``rest_ports``."""

    https: str
    http: str
    upstream_ports: list[int]
    rest_ports: list[int]
    access_log: Path
    static_root: Path
    media_root: Path
    tls: ssl.SSLContext


def substitute(text: str, pattern: str, replacement: str, count: int) -> str:
    """``text`` with exactly ``count`` matches of ``pattern`` replaced: a change of the
    committed file's shape fails here rather than being tested half-substituted."""
    result, found = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert found == count, f"{pattern!r} matched {found} times in {SITE_CONF}, not {count}"
    return result


def render_site(
    http_port: int,
    https_port: int,
    upstream_ports: list[int],
    rest_ports: list[int],
    tmp: Path,
    cert: Path,
    key: Path,
) -> str:
    """The committed site configuration with the test's ports and paths."""
    text = SITE_CONF.read_text()
    for upstream, ports in (("gleepost_daphne", upstream_ports), ("gleepost_rest", rest_ports)):
        block = re.search(rf"upstream {upstream} {{\n(.*?)\n}}", text, flags=re.DOTALL)
        assert block is not None, f"no upstream {upstream}"
        first = re.search(r"^(\s*)server 127\.0\.0\.1:\d+( [^;]*)?;$", block.group(1), re.M)
        assert first is not None, f"no server line in upstream {upstream}"
        indent, parameters = first.group(1), first.group(2) or ""
        lines = "".join(f"{indent}server 127.0.0.1:{port}{parameters};\n" for port in ports)
        # The upstream's four consecutive server lines become one per test process.
        servers = substitute(
            block.group(1) + "\n", r"(^[ \t]*server 127\.0\.0\.1:\d+( [^;]*)?;\n){4}", lines, 1
        )
        text = text.replace(block.group(1) + "\n", servers, 1)
    text = substitute(text, r"listen 80;", f"listen 127.0.0.1:{http_port};", 1)
    text = substitute(text, r"listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl", 1)
    # The test machine may have no IPv6.
    text = substitute(text, r"^\s*listen \[::\]:\d+.*;\n", "", 2)
    text = substitute(text, r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", 1)
    text = substitute(text, r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", 1)
    text = substitute(text, r"access_log /var/log/\S+", f"access_log {tmp}/gleepost.access.log", 2)
    text = substitute(text, r"error_log /var/log/\S+", f"error_log {tmp}/gleepost.error.log", 2)
    text = substitute(text, r"alias /srv/gleepost/staticfiles/;", f"alias {tmp}/static/;", 1)
    return substitute(text, r"alias /var/lib/gleepost/media/;", f"alias {tmp}/media/;", 1)


def main_conf(tmp: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf provides around a site, with every path in ``tmp``."""
    # As root, nginx's workers would run as nobody, who cannot read the test's directories.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp_paths = "".join(
        f"    {kind}_temp_path {tmp}/{kind}_temp;\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log notice;\n"
        "events { worker_connections 256; }\n"
        "http {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        f"    access_log {tmp}/other.access.log;\n{temp_paths}    include {site};\n}}\n"
    )


def self_signed_certificate(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def unit_daphne_flags() -> tuple[str, ...]:
    """daphne's flags in the committed systemd unit, less its listener (the test's own)."""
    text = DAPHNE_UNIT.read_text().replace("\\\n", " ")
    command = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    words = shlex.split(command.removeprefix("ExecStart="))
    start, end = words.index("gleepost.server") + 1, words.index("gleepost.asgi:application")
    flags = iter(words[start:end])
    kept = []
    for flag in flags:
        if flag == "-e":
            next(flags)  # the listener: the test chooses its port
        else:
            kept.append(flag)
    assert "--proxy-headers" in kept
    return tuple(kept)


def unit_rest_command() -> tuple[tuple[str, ...], dict[str, str]]:
    """gunicorn's arguments in the committed REST unit, less its bind (the test's own), and the
    unit's own environment."""
    text = REST_UNIT.read_text().replace("\\\n", " ")
    command = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    words = shlex.split(command.removeprefix("ExecStart="))
    arguments = iter(words[words.index("gunicorn") + 1 :])
    kept = []
    for argument in arguments:
        if argument == "--bind":
            next(arguments)  # the test chooses its port
        else:
            kept.append(argument)
    environment = dict(
        line.removeprefix("Environment=").split("=", 1)
        for line in text.splitlines()
        if line.startswith("Environment=")
    )
    assert environment.get("GLEEPOST_PROXY_HEADERS") == "1"
    return tuple(kept), environment


def env_example(*names: str) -> dict[str, str]:
    """The committed env example's values of ``names``."""
    values = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    return {name: values[name] for name in names}


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        message = "needs nginx (scripts/setup.sh installs Debian's package)"
        if IN_CI:
            pytest.fail(f"CI must provide this: {message}")
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def deployment(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    nginx_binary()  # skips (or fails in CI) before any daphne is started
    tmp = tmp_path_factory.mktemp("nginx")
    (tmp / "media").mkdir()
    env = {
        **env_example("SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "GLEEPOST_SERVE_FILES"),
        "MEDIA_ROOT": str(tmp / "media"),
    }
    with ExitStack() as stack:
        stack.enter_context(django_db_blocker.unblock())
        bases = [
            stack.enter_context(daphne(extra_env=env, extra_args=unit_daphne_flags()))
            for _ in range(2)
        ]
        rest_args, rest_env = unit_rest_command()
        rest_bases = [
            stack.enter_context(gunicorn(rest_args, extra_env={**env, **rest_env}))
            for _ in range(2)
        ]
        ports = [int(base.rsplit(":", 1)[1]) for base in bases]
        rest_ports = [int(base.rsplit(":", 1)[1]) for base in rest_bases]
        yield start_nginx(stack, tmp, ports, rest_ports)


def start_nginx(
    stack: ExitStack, tmp: Path, upstream_ports: list[int], rest_ports: list[int]
) -> Deployment:
    """The committed site in front of ``upstream_ports`` (daphne) and ``rest_ports``
    (gunicorn), its files in ``tmp``; ``stack`` stops it."""
    nginx = nginx_binary()
    for files in ("static", "media"):
        (tmp / files).mkdir(exist_ok=True)
    cert, key = self_signed_certificate(tmp)
    http_port, https_port = free_port(), free_port()
    site = tmp / "gleepost.conf"
    site.write_text(render_site(http_port, https_port, upstream_ports, rest_ports, tmp, cert, key))
    conf = tmp / "nginx.conf"
    conf.write_text(main_conf(tmp, site))
    command = [nginx, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)]
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    stack.callback(stop_process, process)
    try:
        wait_for_port(https_port, process, timeout=10)
    except RuntimeError:
        raise AssertionError(process.communicate()[1].decode()) from None
    return Deployment(
        https=f"https://127.0.0.1:{https_port}",
        http=f"http://127.0.0.1:{http_port}",
        upstream_ports=upstream_ports,
        rest_ports=rest_ports,
        access_log=tmp / "gleepost.access.log",
        static_root=tmp / "static",
        media_root=tmp / "media",
        tls=ssl.create_default_context(cafile=str(cert)),
    )


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def request(
    deployment: Deployment,
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=deployment.tls), NoRedirect
    )
    prepared = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with opener.open(prepared, timeout=10) as answer:
            return Response(answer.status, dict(answer.headers), answer.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, dict(error.headers), error.read())


def post_form(deployment: Deployment, path: str, member: Member, **fields: str) -> Response:
    body = urllib.parse.urlencode(fields).encode()
    return request(
        deployment, "POST", deployment.https + path, body, {"X-GP-Auth": member.auth_header}
    )


def log_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def upstream_of(deployment: Deployment, method: str, path: str) -> int:
    """The port nginx's access log names for the last ``method path`` request."""
    pattern = re.compile(rf'"{method} {re.escape(path)}" .* upstream=127\.0\.0\.1:(\d+) ')
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in reversed(log_lines(deployment.access_log)):
            if found := pattern.search(line):
                return int(found.group(1))
        time.sleep(0.05)
    raise AssertionError(f"no access log line for {method} {path}")


def websocket_connects(port: int) -> int:
    """How many websockets the daphne process on ``port`` has accepted (its access log)."""
    return sum("WSCONNECT /api/v1/ws" in line for line in log_lines(daphne_log_path(port)))


async def connect_through_nginx(
    deployment: Deployment, member: Member, *, token_in_query: bool = False
) -> tuple[ClientConnection, int]:
    """A websocket through nginx, and the port of the daphne process that took it."""
    before = {port: websocket_connects(port) for port in deployment.upstream_ports}
    url = deployment.https.replace("https://", "wss://") + "/api/v1/ws"
    if token_in_query:
        socket = await connect(f"{url}?id={member.id}&token={member.token}", ssl=deployment.tls)
    else:
        socket = await connect(
            url, ssl=deployment.tls, additional_headers={"X-GP-Auth": member.auth_header}
        )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        grown = [port for port in before if websocket_connects(port) > before[port]]
        if grown:
            assert len(grown) == 1
            return socket, grown[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no daphne process logged the websocket")


@pytest.fixture
async def sockets() -> AsyncIterator[list[ClientConnection]]:
    opened: list[ClientConnection] = []
    yield opened
    for socket in opened:
        await socket.close()


async def next_event(socket: ClientConnection) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), 5))
    return event


async def test_websockets_spread_over_both_processes_and_events_cross_them(
    deployment: Deployment,
    sockets: list[ClientConnection],
    alice: Member,
    bob: Member,
    carol: Member,
) -> None:
    served_by: list[int] = []
    for member in (bob, bob, carol, carol):
        socket, port = await connect_through_nginx(deployment, member, token_in_query=True)
        sockets.append(socket)
        served_by.append(port)
    # Both processes take websockets: two of the four each.
    assert sorted(served_by) == sorted(deployment.upstream_ports * 2)
    bob_sockets = dict(zip(served_by[:2], sockets[:2], strict=True))
    assert len(bob_sockets) == 2, "bob's two websockets are on different processes"

    created = await asyncio.to_thread(
        post_form, deployment, "/api/v1/conversations", alice, participants=str(bob.id)
    )
    assert created.status == 201, created.body
    path = f"/api/v1/conversations/{created.json()['id']}/messages"
    sent = await asyncio.to_thread(post_form, deployment, path, alice, text="through nginx")
    assert sent.status == 201, sent.body
    writer = await asyncio.to_thread(upstream_of, deployment, "POST", path)
    for socket in bob_sockets.values():
        event = await next_event(socket)
        assert (event["type"], event["data"]) == ("new-conversation", created.json())
        event = await next_event(socket)
        assert (event["type"], event["data"]) == ("message", sent.json())
    # A gunicorn process served the write; its events reached both daphne processes by Redis.
    assert writer in deployment.rest_ports
    # carol is not in the conversation: neither of her websockets gets anything.
    for socket in sockets[2:]:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(socket.recv(), 0.3)

    # nginx logs a websocket when it closes; these were opened with ?id=&token=.
    for socket in sockets:
        await socket.close()
    while sum('"GET /api/v1/ws" 101' in line for line in log_lines(deployment.access_log)) < 4:
        await asyncio.sleep(0.05)
    log = deployment.access_log.read_text()
    assert bob.token not in log and carol.token not in log and alice.token not in log


async def test_client_address_and_scheme_come_from_nginx_not_the_client(
    deployment: Deployment, alice: Member
) -> None:
    # SECURE_SSL_REDIRECT is on: without nginx's X-Forwarded-Proto, Django would redirect.
    answer = await asyncio.to_thread(
        request,
        deployment,
        "GET",
        f"{deployment.https}/api/v1/user/{alice.id}?probe=forwarded",
        None,
        {"X-GP-Auth": alice.auth_header, "X-Forwarded-For": "203.0.113.9"},
    )
    assert answer.status == 200, answer.body
    assert answer.json()["id"] == alice.id
    port = await asyncio.to_thread(upstream_of, deployment, "GET", f"/api/v1/user/{alice.id}")
    assert port in deployment.rest_ports
    await asyncio.to_thread(
        wait_for_log_line, gunicorn_log_path(port), f'"GET /api/v1/user/{alice.id}"', 1
    )
    lines = [
        line
        for line in log_lines(gunicorn_log_path(port))
        if f'"GET /api/v1/user/{alice.id}"' in line
    ]
    # gleepost.wsgi (GLEEPOST_PROXY_HEADERS) takes the first address of X-Forwarded-For: nginx
    # replaces the client's list with the address it saw, so the client cannot choose its own.
    assert lines and all("127.0.0.1 " in line for line in lines), lines
    assert not any("203.0.113.9" in line for line in lines), lines

    plain = await asyncio.to_thread(request, deployment, "GET", f"{deployment.http}/api/v1/x?a=1")
    assert plain.status == 301
    assert plain.headers["Location"] == "https://127.0.0.1/api/v1/x?a=1"


async def test_nginx_and_the_service_log_one_request_id(
    deployment: Deployment, alice: Member
) -> None:
    path = f"/api/v1/user/{alice.id}"
    answer = await asyncio.to_thread(
        request,
        deployment,
        "GET",
        f"{deployment.https}{path}?probe=request-id",
        None,
        {"X-GP-Auth": alice.auth_header, "X-Request-ID": "chosen-by-the-client"},
    )
    assert answer.status == 200, answer.body
    # nginx replaces the client's id with its own and names it in its log; daphne took it as the
    # request's id (its log lines carry it) and answers with it.
    request_id = {k.lower(): v for k, v in answer.headers.items()}.get("x-request-id", "")
    assert request_id != "chosen-by-the-client", answer.headers
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), answer.headers
    port = await asyncio.to_thread(upstream_of, deployment, "GET", path)
    nginx_lines = [line for line in log_lines(deployment.access_log) if f'"GET {path}"' in line]
    assert nginx_lines[-1].endswith(f"request_id={request_id}"), nginx_lines[-1]
    assert port in deployment.rest_ports
    # gunicorn writes its access line once the answer has gone: wait for it.
    await asyncio.to_thread(
        wait_for_log_line, gunicorn_log_path(port), f"request_id={request_id}", 1
    )
    served = [line for line in log_lines(gunicorn_log_path(port)) if f"={request_id}" in line]
    assert len(served) == 1 and f'"GET {path}" 200' in served[0], served


async def test_readiness_probe_and_metrics_are_not_served_to_the_internet(
    deployment: Deployment,
) -> None:
    for probe, through_nginx in (("healthz", 200), ("readyz", 404), ("metrics", 404)):
        answer = await asyncio.to_thread(request, deployment, "GET", f"{deployment.https}/{probe}")
        assert answer.status == through_nginx, probe
    for port in (deployment.upstream_ports[0], deployment.rest_ports[0]):
        direct = f"http://127.0.0.1:{port}/readyz"
        answer = await asyncio.to_thread(request, deployment, "GET", direct)
        assert answer.status == 200 and answer.json()["status"] == "ready"


async def test_large_bodies_reach_only_the_video_upload(
    deployment: Deployment, alice: Member
) -> None:
    boundary = "gleepost-test-boundary"
    five_mb = b"\0" * (5 * 1024 * 1024)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="clip.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + five_mb
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "X-GP-Auth": alice.auth_header,
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    upload = await asyncio.to_thread(
        request, deployment, "POST", f"{deployment.https}/api/v1/videos", body, headers
    )
    assert upload.status == 201, upload.body
    assert upload.json()["status"] == "uploaded"
    stored = list(deployment.media_root.rglob("*"))
    assert any(path.is_file() and path.stat().st_size == len(five_mb) for path in stored)

    elsewhere = await asyncio.to_thread(
        request, deployment, "POST", f"{deployment.https}/api/v1/conversations", body, headers
    )
    assert elsewhere.status == 413
    assert b"nginx" in elsewhere.body  # refused before any gunicorn process read it


async def test_static_and_media_files_come_from_disk(deployment: Deployment) -> None:
    (deployment.static_root / "admin").mkdir(exist_ok=True)
    (deployment.static_root / "admin" / "probe.css").write_text("body { color: black }")
    (deployment.media_root / "thumbs").mkdir(exist_ok=True)
    (deployment.media_root / "thumbs" / "probe.jpg").write_bytes(b"\xff\xd8probe")

    css = await asyncio.to_thread(
        request, deployment, "GET", f"{deployment.https}/static/admin/probe.css"
    )
    assert (css.status, css.body) == (200, b"body { color: black }")
    assert css.headers["Content-Type"] == "text/css"
    image = await asyncio.to_thread(
        request, deployment, "GET", f"{deployment.https}/media/thumbs/probe.jpg"
    )
    assert (image.status, image.body) == (200, b"\xff\xd8probe")
    # The service's processes do not serve files here (GLEEPOST_SERVE_FILES=0): nginx did.
    direct = await asyncio.to_thread(
        request,
        deployment,
        "GET",
        f"http://127.0.0.1:{deployment.rest_ports[0]}/static/admin/probe.css",
        None,
        {"X-Forwarded-Proto": "https"},
    )
    assert direct.status == 404


# Credentials in URLs (rest-api.md allows them; a browser's websocket has no other way).

PASSWORD = "Correct-Horse-Battery-42"  # safe in a URL as it is: a log would hold it verbatim


async def set_password(member: Member) -> None:
    # Hashed as daphne's settings can check it (the tests' own hasher is not among them).
    member.user.password = PBKDF2PasswordHasher().encode(PASSWORD, "saltsalt", iterations=1000)
    await in_thread(member.user.save, update_fields=["password"])


def wait_for_log_line(path: Path, text: str, count: int) -> None:
    deadline = time.monotonic() + 5
    while sum(text in line for line in log_lines(path)) < count:
        assert time.monotonic() < deadline, f"{path} has not {count} lines with {text!r}"
        time.sleep(0.05)


def assert_in_no_log(secrets: list[str], paths: list[Path]) -> None:
    for path in paths:
        text = path.read_text()
        for secret in secrets:
            assert secret not in text, f"{path} holds a credential:\n{text}"


async def test_no_token_or_password_reaches_nginx_daphne_or_gunicorn_logs(
    deployment: Deployment, alice: Member
) -> None:
    await set_password(alice)
    query = f"id={alice.id}&token={alice.token}&probe=no-secret"
    for _ in deployment.rest_ports:
        answer = await asyncio.to_thread(
            request, deployment, "GET", f"{deployment.https}/api/v1/conversations?{query}"
        )
        assert answer.status == 200, answer.body
    login = f"/api/v1/login?email=alice@example.com&pass={PASSWORD}"
    answer = await asyncio.to_thread(request, deployment, "POST", deployment.https + login)
    assert answer.status == 200, answer.body
    issued = answer.json()["value"]
    # Over plain HTTP by mistake: redirected to HTTPS.
    answer = await asyncio.to_thread(
        request, deployment, "GET", f"{deployment.http}/api/v1/conversations?{query}"
    )
    assert answer.status == 301
    websockets_before = sum(
        '"GET /api/v1/ws" 101' in line for line in log_lines(deployment.access_log)
    )
    url = deployment.https.replace("https://", "wss://") + f"/api/v1/ws?{query}"
    async with connect(url, ssl=deployment.tls):
        pass
    # nginx logs a websocket when it closes.
    await asyncio.to_thread(
        wait_for_log_line, deployment.access_log, '"GET /api/v1/ws" 101', websockets_before + 1
    )

    nginx_logs = sorted(deployment.access_log.parent.glob("*.log"))
    daphne_logs = [daphne_log_path(port) for port in deployment.upstream_ports]
    gunicorn_logs = [gunicorn_log_path(port) for port in deployment.rest_ports]
    assert_in_no_log([alice.token, issued, PASSWORD], nginx_logs + daphne_logs + gunicorn_logs)
    # Each request is in the logs, without its credentials: gunicorn's access lines hold the
    # path only (deploy/gunicorn.conf.py), and so do daphne's of a websocket.
    gunicorn_text = "".join(path.read_text() for path in gunicorn_logs)
    deadline = time.monotonic() + 5  # each access line is written once its answer has gone
    while gunicorn_text.count('"GET /api/v1/conversations"') < len(deployment.rest_ports) or (
        '"POST /api/v1/login"' not in gunicorn_text
    ):
        assert time.monotonic() < deadline, gunicorn_text
        await asyncio.sleep(0.05)
        gunicorn_text = "".join(path.read_text() for path in gunicorn_logs)
    assert gunicorn_text.count('"GET /api/v1/conversations"') == len(deployment.rest_ports)
    assert_in_no_log([alice.token, issued, PASSWORD], gunicorn_logs)
    daphne_text = "".join(path.read_text() for path in daphne_logs)
    assert '"WSCONNECT /api/v1/ws"' in daphne_text


async def test_a_process_that_is_down_leaves_no_token_in_nginx_logs(
    tmp_path: Path, alice: Member
) -> None:
    await set_password(alice)
    with ExitStack() as stack:
        # Nothing listens on the upstreams' ports: processes restarting, or gone.
        down = start_nginx(stack, tmp_path, [free_port()], [free_port()])
        for method, path in (
            ("GET", f"/api/v1/conversations?id={alice.id}&token={alice.token}"),
            ("POST", f"/api/v1/login?email=alice@example.com&pass={PASSWORD}"),
        ):
            answer = await asyncio.to_thread(request, down, method, down.https + path)
            assert answer.status == 502
        await asyncio.to_thread(wait_for_log_line, down.access_log, "upstream_status=502", 2)
    assert_in_no_log([alice.token, PASSWORD], sorted(tmp_path.glob("*.log")))


@pytest.mark.parametrize(("scheme", "accepted"), [("https", True), ("http", False)])
async def test_a_session_websocket_through_nginx_needs_the_sites_https_origin(
    deployment: Deployment, alice: Member, bob: Member, scheme: str, accepted: bool
) -> None:
    def login() -> str:
        client = Client()
        client.force_login(bob.user)
        return client.cookies["sessionid"].value

    cookie = await in_thread(login)
    url = deployment.https.replace("https://", "wss://") + "/api/v1/ws"
    # nginx passes the host without its port ($host), as the site's name on port 443 is: this
    # is the Origin a page of the site sends there. daphne sees plain HTTP from nginx; the
    # scheme is nginx's X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER, from the env example).
    async with connect(
        url,
        ssl=deployment.tls,
        origin=f"{scheme}://127.0.0.1",  # type: ignore[arg-type]
        additional_headers={"Cookie": f"sessionid={cookie}"},
    ) as socket:
        if not accepted:
            answer = json.loads(await asyncio.wait_for(socket.recv(), 5))
            assert answer == {"error": "Invalid credentials"}
            await asyncio.wait_for(socket.wait_closed(), 5)
            assert socket.close_code == CLOSE_INVALID_CREDENTIALS
            return
        created = await asyncio.to_thread(
            post_form, deployment, "/api/v1/conversations", alice, participants=str(bob.id)
        )
        assert created.status == 201, created.body
        event = await next_event(socket)
        assert (event["type"], event["data"]) == ("new-conversation", created.json())


def open_event_stream(deployment: Deployment, member: Member) -> Any:
    """``GET /api/v1/events`` through nginx over TLS, as EventSource sends it; its response."""
    port = int(deployment.https.rsplit(":", 1)[1])
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=deployment.tls, timeout=10)
    connection.request(
        "GET",
        f"/api/v1/events?id={member.id}&token={member.token}",
        headers={"Accept": "text/event-stream"},
    )
    return connection.getresponse()


def next_sse_event(response: Any) -> dict[str, str]:
    """The next event's fields, comments and retry: skipped."""
    fields: dict[str, str] = {}
    while True:
        line = response.readline().decode().rstrip("\n")
        if line:
            name, _, value = line.partition(": ")
            fields[name] = value
        elif "data" in fields:
            return fields
        else:
            fields = {}


async def test_server_sent_events_and_the_long_poll_go_to_daphne_unbuffered(
    deployment: Deployment, alice: Member, bob: Member
) -> None:
    stream = await asyncio.to_thread(open_event_stream, deployment, bob)
    assert stream.status == 200
    assert stream.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert await asyncio.to_thread(stream.readline) == b"retry: 2000\n"
    created = await asyncio.to_thread(
        post_form, deployment, "/api/v1/conversations", alice, participants=str(bob.id)
    )
    assert created.status == 201, created.body
    # Each event arrives when written, long before nginx's buffers would fill.
    event = await asyncio.wait_for(asyncio.to_thread(next_sse_event, stream), 5)
    assert event["event"] == "new-conversation"
    assert json.loads(event["data"])["data"] == created.json()
    epoch, seq = event["id"].split(":")
    stream.close()
    # The long-poll, from the stream's last position, answers at once with what came after.
    path = f"/api/v1/conversations/{created.json()['id']}/messages"
    sent = await asyncio.to_thread(post_form, deployment, path, alice, text="polled")
    poll = await asyncio.to_thread(
        request,
        deployment,
        "GET",
        f"{deployment.https}/api/v1/longpoll?since={seq}&epoch={epoch}",
        None,
        {"X-GP-Auth": bob.auth_header},
    )
    assert poll.status == 200, poll.body
    assert (poll.json()["type"], poll.json()["data"]) == ("message", sent.json())
    served_by = await asyncio.to_thread(upstream_of, deployment, "GET", "/api/v1/longpoll")
    assert served_by in deployment.upstream_ports
