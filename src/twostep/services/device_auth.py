"""Signed device requests (docs/device-protocol.md §3): the device's Ed25519 signature over the
canonical request, a timestamp close to the server's clock, and a nonce used once (kept in
``device_nonces`` for the replay window). Every refusal is the same ``InvalidSignature``."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from twostep.core import crypto, signing
from twostep.errors import FailAfterCommit, InvalidSignature, TwoStepError
from twostep.services.device_model import Device
from twostep.services.runtime import Tx
from twostep.store import devices as q

T = TypeVar("T")

ACTIVE: frozenset[str] = frozenset({"active"})
ANY_STATUS: frozenset[str] = frozenset({"active", "pending", "revoked"})
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_UUID_MAX = 36
_TIMESTAMP_MAX_DIGITS = 12


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a signature covers, and the four headers that carry it (None when absent)."""

    method: str
    target: str  # the path with the query string exactly as sent
    body: bytes
    device: str | None
    timestamp: str | None
    nonce: str | None
    signature: str | None


def authenticate(tx: Tx, request: SignedRequest, *, allow: Collection[str] = ACTIVE) -> Device:
    """The device that signed ``request``; InvalidSignature otherwise. Records the nonce and the
    time of the device's last contact."""
    uuid, stamp, nonce = request.device or "", request.timestamp or "", request.nonce or ""
    if (
        not 0 < len(uuid) <= _UUID_MAX
        or not stamp.isdigit()
        or len(stamp) > _TIMESTAMP_MAX_DIGITS
        or not NONCE.fullmatch(nonce)
    ):
        raise InvalidSignature
    timestamp = int(stamp)
    if abs(timestamp - tx.now.timestamp()) > tx.settings.device_clock_skew_seconds:
        raise InvalidSignature
    try:
        signature = crypto.from_b64url(request.signature or "")
    except ValueError:
        raise InvalidSignature from None
    row = q.for_signed_request(tx.conn, uuid, nonce)
    if row is None or row.status not in allow or row.public_key is None:
        raise InvalidSignature
    message = signing.request_string(request.method, request.target, timestamp, nonce, request.body)
    if not signing.verify(row.public_key, message, signature):
        raise InvalidSignature
    if not q.remember_nonce(tx.conn, row.id, nonce, tx.now, seen_used=row.nonce_used):
        raise InvalidSignature  # a replay
    q.touch(tx.conn, row.id, tx.now)
    return Device.from_row(row)


def run_signed(
    tx: Tx,
    request: SignedRequest,
    work: Callable[[Device], T],
    *,
    allow: Collection[str] = ACTIVE,
) -> T:
    """Authenticate, then do ``work`` in a savepoint: when the work is refused, its writes are
    undone but the nonce stays used, so a refused request cannot be replayed either."""
    device = authenticate(tx, request, allow=allow)
    refusal: FailAfterCommit | None = None
    try:
        with tx.savepoint():
            try:
                result = work(device)
            except FailAfterCommit as exc:  # keep what the work chose to keep
                refusal = exc
    except TwoStepError as exc:
        raise FailAfterCommit(exc) from None
    if refusal is not None:
        raise refusal
    return result


def replay_window(tx: Tx) -> timedelta:
    """A nonce can only be replayed while its timestamp is acceptable: within the clock skew of
    both the first use and the replay, so at most twice the skew after it was first seen."""
    return timedelta(seconds=2 * tx.settings.device_clock_skew_seconds)


def forget_nonces(tx: Tx) -> int:
    """Drop nonces older than the replay window (worker maintenance)."""
    return q.forget_nonces(tx.conn, tx.now - replay_window(tx))
