"""The device protocol's cryptography, written from docs/device-protocol.md: the Ed25519 device key,
the canonical request every signed call covers (§3), the digest of what a request shows and the
statement an answer signs (§4.1)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

KEY_BYTES = 32


def b64url(data: bytes) -> str:
    """Base64url without padding (§ "Binary values")."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def from_b64url(text: str) -> bytes:
    """Inverse of ``b64url``; ValueError for anything else."""
    if not text or not all(c.isascii() and (c.isalnum() or c in "-_") for c in text):
        raise ValueError("not base64url text")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_nonce() -> str:
    """16 to 64 characters of ``[A-Za-z0-9_-]``, unique per request (here 24, 144 random bits)."""
    return secrets.token_urlsafe(18)


def canonical_request(method: str, target: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    """What a signed request covers (§3): the target is the path with the query exactly as sent."""
    lines = ["TWOSTEP-DEVICE-V1", method.upper(), target, str(timestamp), nonce]
    lines.append(hashlib.sha256(body).hexdigest())
    return "\n".join(lines).encode("utf-8")


def shown_digest(shown: dict[str, Any]) -> str:
    """SHA-256 (hex) of the ``shown`` object as sorted-key compact JSON in UTF-8 (§4.1)."""
    text = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def approval_statement(uuid: str, status: str, signed_at: int, digest: str) -> bytes:
    """What an answer signs (§4.1)."""
    return "\n".join(["TWOSTEP-APPROVAL-V1", uuid, status, str(signed_at), digest]).encode("utf-8")


class DeviceKey:
    """The device's Ed25519 key pair. Its text form never shows the private half."""

    __slots__ = ("_private",)

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_b64url(cls, text: str) -> DeviceKey:
        raw = from_b64url(text)
        if len(raw) != KEY_BYTES:
            raise ValueError("an Ed25519 private key has 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def private_b64url(self) -> str:
        """The private key, for the state file only."""
        raw = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return b64url(raw)

    @property
    def public_b64url(self) -> str:
        return b64url(self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(self, message: bytes) -> str:
        """The base64url signature of ``message``."""
        return b64url(self._private.sign(message))

    def __repr__(self) -> str:
        return f"DeviceKey(public={self.public_b64url})"
