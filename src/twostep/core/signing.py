"""Ed25519 signatures of the device protocol (docs/device-protocol.md): the canonical request a
device signs, the approval statement it signs when answering, and verification. Pure."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def request_string(method: str, path: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    """What a device signs for every request (§3): method, path with query, time, nonce, body."""
    lines = (
        "TWOSTEP-DEVICE-V1",
        method.upper(),
        path,
        str(timestamp),
        nonce,
        hashlib.sha256(body).hexdigest(),
    )
    return "\n".join(lines).encode()


def approval_statement(uuid: str, status: str, signed_at: int, shown_digest: str) -> bytes:
    """What a device signs when it answers an approval request (§4.1)."""
    return "\n".join(("TWOSTEP-APPROVAL-V1", uuid, status, str(signed_at), shown_digest)).encode()


def valid_public_key(raw: bytes) -> bool:
    return _public_key(raw) is not None


@lru_cache(maxsize=8192)
def _public_key(raw: bytes) -> Ed25519PublicKey | None:
    """The loaded key (loading costs ~15 µs, and every signed device request checks one)."""
    if len(raw) != PUBLIC_KEY_BYTES:
        return None
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    key = _public_key(bytes(public_key))
    if len(signature) != SIGNATURE_BYTES or key is None:
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
