"""Local stand-ins for the providers' services, on real sockets: an HTTP server (hypercorn, so the
APNs fake can speak HTTP/2 over TLS with ALPN like Apple) and an SMTP server (aiosmtpd).

Every fake records what it received and can be told to answer the next N requests with a given
reply (an error, a slow answer) before going back to its normal behaviour. The per-provider
behaviour lives in ``fake_apis``."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypercorn.asyncio import serve
from hypercorn.config import Config


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    http_version: str

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        headers = [(k.lower().encode(), v.encode()) for k, v in self.headers.items()]
        if isinstance(self.body, dict | list):
            headers.append((b"content-type", b"application/json"))
            return json.dumps(self.body).encode(), headers
        if isinstance(self.body, str):
            return self.body.encode(), headers
        return self.body or b"", headers


Handler = Callable[[Received], Reply]


class FakeHttp:
    """An HTTP service on 127.0.0.1 and a random port, served by hypercorn in a thread."""

    def __init__(self, handler: Handler, tls: Tls | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.requests: list[Received] = []
        self._queued: list[Reply] = []
        listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = listener.getsockname()[1]
        self._fd = os.dup(listener.fileno())  # hypercorn owns (and closes) the duplicate
        listener.close()
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def queue(self, reply: Reply, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``reply`` instead of the normal behaviour."""
        self._queued.extend([reply] * times)

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        request = Received(
            method=scope["method"],
            path=scope["path"],
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
            http_version=scope["http_version"],
        )
        self.requests.append(request)
        reply = self._queued.pop(0) if self._queued else self.handler(request)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        content, headers = reply.encoded()
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _run(self) -> None:
        config = Config()
        config.bind = [f"fd://{self._fd}"]
        config.graceful_timeout = 0.2
        config.loglevel = "WARNING"
        if self.tls:
            config.certfile, config.keyfile = str(self.tls.cert), str(self.tls.key)

        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._started.set()
            await serve(self._app, config, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]

        asyncio.run(main())

    def __enter__(self) -> FakeHttp:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


def closed_port_url() -> str:
    """A URL where nothing listens: the port was free a moment ago and stays closed."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class Tls:
    """A throw-away CA and a server certificate for 127.0.0.1 it signed."""

    ca: Path
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_tls(directory: Path) -> Tls:
    now = dt.datetime.now(dt.UTC)

    def build(subject: str, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca_cert = (
        build("test CA", ca_key)
        .issuer_name(ca_name)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    cert = (
        build("127.0.0.1", key)
        .issuer_name(ca_name)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    tls = Tls(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    tls.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return tls


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: str | None


class FakeSmtp:
    """An SMTP relay (aiosmtpd) that keeps what it accepts. ``rcpt_replies``/``data_replies`` are
    answers to give instead of 250 (first in, first out), e.g. "550 5.1.1 no such user"."""

    def __init__(
        self,
        *,
        tls: Tls | None = None,
        implicit_tls: bool = False,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.mails: list[Mail] = []
        self.rcpt_replies: list[str] = []
        self.data_replies: list[str] = []
        self.logins: list[tuple[str, str]] = []
        self._credentials = credentials
        with socket.create_server(("127.0.0.1", 0)) as sock:
            self.port: int = sock.getsockname()[1]
        # with implicit TLS aiosmtpd does not know the connection is encrypted: AUTH over it is fine
        kwargs: dict[str, Any] = {
            "authenticator": self._authenticate,
            "auth_require_tls": not implicit_tls,
        }
        if tls and implicit_tls:
            kwargs["ssl_context"] = tls.server_context()
            kwargs["server_hostname"] = "localhost"
        elif tls:
            kwargs["tls_context"] = tls.server_context()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        pair = (data.login.decode(), data.password.decode())
        self.logins.append(pair)
        return AuthResult(success=pair == self._credentials, handled=False, auth_data=data)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        assert envelope.mail_from is not None
        assert isinstance(envelope.content, bytes)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        encrypted = server.transport is not None and bool(
            server.transport.get_extra_info("ssl_object")
        )
        rcpts = list(envelope.rcpt_tos)
        self.mails.append(Mail(envelope.mail_from, rcpts, envelope.content, encrypted, login))
        return "250 Message accepted for delivery"

    def __enter__(self) -> FakeSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
