"""An authenticator device for tests, written from docs/device-protocol.md alone (no server code):
an Ed25519 key pair, the §3 request signature, the §4.1 answer statement, and a client that sends
signed requests through any httpx-style client (Starlette's TestClient or httpx.Client)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def canonical_request(method: str, target: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    lines = ["TWOSTEP-DEVICE-V1", method, target, str(timestamp), nonce]
    lines.append(hashlib.sha256(body).hexdigest())
    return "\n".join(lines).encode()


def shown_digest(shown: dict[str, Any]) -> str:
    text = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def statement(uuid: str, status: str, signed_at: int, digest: str) -> bytes:
    return "\n".join(["TWOSTEP-APPROVAL-V1", uuid, status, str(signed_at), digest]).encode()


@dataclass
class DeviceKey:
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public_b64(self) -> str:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return b64url(raw)

    def sign(self, message: bytes) -> str:
        return b64url(self.private.sign(message))


def registration(key: DeviceKey, **extra: Any) -> dict[str, Any]:
    """The body that registers a device (enrolment confirm or link)."""
    return {"public_key": key.public_b64, "name": "Ann's phone", "os_type": "android", **extra}


@dataclass
class SignedDevice:
    """An enrolled device talking to the server. ``now`` gives the device's Unix time."""

    http: Any  # TestClient or httpx.Client
    key: DeviceKey
    uuid: str
    device_id: int
    now: Callable[[], float]
    enrollment_id: str | None = None
    accounts: list[dict[str, Any]] = field(default_factory=list)

    def headers(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        stamp = int(self.now()) if timestamp is None else timestamp
        nonce = nonce or secrets.token_urlsafe(18)
        signature = self.key.sign(canonical_request(method, target, stamp, nonce, body))
        return {
            "X-TwoStep-Device": self.uuid,
            "X-TwoStep-Timestamp": str(stamp),
            "X-TwoStep-Nonce": nonce,
            "X-TwoStep-Signature": signature,
        }

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        timestamp: int | None = None,
        nonce: str | None = None,
        tamper: Callable[[dict[str, str]], None] | None = None,
        **kwargs: Any,
    ) -> Any:
        target = path + (f"?{urlencode(params)}" if params else "")
        body = b"" if json_body is None else json.dumps(json_body).encode()
        headers = self.headers(method, target, body, timestamp=timestamp, nonce=nonce)
        if body:
            headers["Content-Type"] = "application/json"
        if tamper is not None:
            tamper(headers)
        return self.http.request(method, target, content=body, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> Any:
        return self.request(
            "POST", path, json_body=json_body if json_body is not None else {}, **kwargs
        )

    def answer(
        self,
        request: dict[str, Any],
        status: str,
        *,
        number: str | None = None,
        signed_at: int | None = None,
        sign_status: str | None = None,
    ) -> Any:
        """Answer an approval request (§4.1) as shown in ``request`` (its device view)."""
        at = int(self.now()) if signed_at is None else signed_at
        digest = shown_digest(request["shown"])
        signature = self.key.sign(statement(request["uuid"], sign_status or status, at, digest))
        body: dict[str, Any] = {"status": status, "signed_at": at, "signature": signature}
        if number is not None:
            body["number"] = number
        return self.post(f"/device/v1/approval_requests/{request['uuid']}", body)
