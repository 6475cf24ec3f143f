"""Helpers for the callback tests: a receiver on a real socket that keeps every request exactly as
it arrived (raw target, headers, body, the TLS server name), and a phone that answers OneTouch
approval requests with a real Ed25519 signature."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from tests.factories import add_device
from twostep.core import signing
from twostep.services import approvals
from twostep.services.device_model import Device
from twostep.services.runtime import Runtime
from twostep.store.schema import devices


@dataclass
class Captured:
    method: str
    target: str  # the request target as sent: path and raw query
    headers: dict[str, str]  # names in lower case
    body: bytes
    sni: str | None

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query


@dataclass
class Answer:
    status: int = 200
    delay: float = 0.0


@dataclass
class Receiver:
    """An HTTP(S) server on 127.0.0.1 (random port) in a thread. ``answers`` are used first, one
    per request; then ``default``. ``tls`` is an ``ssl.SSLContext`` for the server side."""

    tls: ssl.SSLContext | None = None
    default: Answer = field(default_factory=Answer)
    answers: list[Answer] = field(default_factory=list)
    requests: list[Captured] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)  # ends stalled answers

    def __post_init__(self) -> None:
        receiver = self
        last_sni: list[str | None] = [None]

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.lock:
                    receiver.requests.append(
                        Captured(
                            self.command,
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            getattr(self.connection, "sni", None),
                        )
                    )
                    answer = receiver.answers.pop(0) if receiver.answers else receiver.default
                receiver.closing.wait(answer.delay)
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the caller went away (a killed worker)

            do_GET = do_POST = _serve  # noqa: N815 - http.server's naming

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                sock, address = super().get_request()
                if receiver.tls is not None:
                    last_sni[0] = None
                    sock = receiver.tls.wrap_socket(sock, server_side=True)
                    sock.sni = last_sni[0]  # type: ignore[attr-defined]
                return sock, address

        if self.tls is not None:

            def remember(_sock: Any, name: str | None, _ctx: Any) -> None:
                last_sni[0] = name

            self.tls.sni_callback = remember
        self.server = Server(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/callback", host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def queue(self, answer: Answer, times: int = 1) -> None:
        with self.lock:
            self.answers.extend([answer] * times)

    def received(self) -> list[Captured]:
        with self.lock:
            return list(self.requests)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Phone:
    """A person's authenticator with its signing key."""

    rt: Runtime
    device: Device
    key: Ed25519PrivateKey

    def shown_digest(self, uuid: str) -> str:
        """The digest of what the device shows for a pending request (what it signs)."""
        views = self.rt.run(lambda tx: approvals.pending_for_device(tx, self.device), write=False)
        [view] = [v for v in views if v["uuid"] == uuid]
        digest: str = view["shown_digest"]
        return digest

    def answer(self, uuid: str, status: str, *, digest: str | None = None) -> None:
        rt = self.rt
        when = int(rt.clock.time())
        digest = digest or self.shown_digest(uuid)
        statement = signing.approval_statement(uuid, status, when, digest)
        signature = self.key.sign(statement)
        rt.run(
            lambda tx: approvals.answer(
                tx,
                self.device,
                uuid,
                status=status,
                signed_at=when,
                number=None,
                signature=signature,
            )
        )


def add_phone(rt: Runtime, authy_id: int, app_id: int) -> Phone:
    device_id, _seed = add_device(rt, authy_id, app_id)
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )

    def install(tx: Any) -> Device:
        tx.conn.execute(update(devices).where(devices.c.id == device_id).values(public_key=public))
        return Device.from_row(
            tx.conn.execute(select(devices).where(devices.c.id == device_id)).one()
        )

    return Phone(rt, rt.run(install), key)


def request_approval(
    post: Callable[..., Any], key: str, authy_id: int, message: str = "Log in?", **extra: Any
) -> str:
    """Create an approval request over HTTP (``post`` is a TestClient's or httpx's ``post``)."""
    response = post(
        f"/onetouch/json/users/{authy_id}/approval_requests",
        json={"message": message, **extra},
        headers={"X-Authy-API-Key": key},
    )
    assert response.status_code == 200, response.text
    uuid: str = response.json()["approval_request"]["uuid"]
    return uuid


NODE_DIR = Path(__file__).parent / "clients" / "node"


def node_verify(key: str, request: Captured) -> dict[str, Any]:
    """authy-client's ``verifyCallback`` on a captured request, as an Express app would call it."""
    node = shutil.which("node")
    assert node is not None, "the Node client tests need node on PATH"
    args = {
        "body": json.loads(request.body),
        "headers": {
            k: request.headers[k] for k in ("host", "x-authy-signature", "x-authy-signature-nonce")
        },
        "method": request.method,
        "protocol": "http",
        "url": request.target,
    }
    command = {"host": "unused", "key": key, "op": "verifyCallback", "args": args}
    proc = subprocess.run(
        [node, "verify_callback.js"],
        input=json.dumps(command),
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    answer: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return answer
