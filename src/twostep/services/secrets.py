"""Generic authenticator secrets (U5): one RFC 6238 secret per person per application, sealed at
rest, handed to the person as a QR code behind a short-lived, unguessable link."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from dataclasses import dataclass
from datetime import datetime

import segno

from twostep.core import otp
from twostep.errors import GenericTokensDisabled, NotFound
from twostep.services.apps import App, get
from twostep.services.runtime import Tx
from twostep.services.seeds import GENERIC_TOKEN, generic_secret_context
from twostep.services.users import User
from twostep.services.users import get as get_user
from twostep.store import codes as q

QR_MIN, QR_MAX, QR_DEFAULT = 100, 1000, 300


@dataclass(frozen=True, slots=True)
class QrLink:
    url: str
    label: str
    issuer: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def ensure_secret(tx: Tx, app: App, user: User) -> bytes:
    """The person's secret for this application, created on first request."""
    row = q.generic_secret(tx.conn, app.id, user.authy_id)
    if row is None:
        seed = otp.random_secret()
        sealed = tx.keyring.seal(seed, generic_secret_context(app.id, user.authy_id))
        q.insert_generic_secret(
            tx.conn, app_id=app.id, person_id=user.authy_id, seed=sealed, now=tx.now
        )
        row = q.generic_secret(tx.conn, app.id, user.authy_id)
    assert row is not None
    return tx.keyring.open(row.seed, generic_secret_context(app.id, user.authy_id))


def qr_link(tx: Tx, app: App, authy_id: object, *, label: str, size: int | None) -> QrLink:
    if not app.settings.generic_tokens_enabled:
        raise GenericTokensDisabled
    user = get_user(tx, app, authy_id)
    ensure_secret(tx, app, user)
    pixels = min(max(size or QR_DEFAULT, QR_MIN), QR_MAX)
    expires = int(tx.now.timestamp()) + tx.settings.qr_link_ttl_seconds
    claims = f"{app.id}.{user.authy_id}.{pixels}.{expires}.{_b64(label.encode())}".encode()
    mac = hmac.digest(tx.keyring.subkey("qr-links"), claims, hashlib.sha256)[:18]
    token = f"{_b64(claims)}.{_b64(mac)}"
    return QrLink(f"{tx.settings.resolved_public_url}/qr/{token}.png", label, app.name)


def qr_png(tx: Tx, token: str) -> bytes:
    """The QR image for a link made by ``qr_link``; NotFound when forged, expired or revoked."""
    try:
        claims_b64, mac_b64 = token.split(".")
        claims, mac = _unb64(claims_b64), _unb64(mac_b64)
        expected = hmac.digest(tx.keyring.subkey("qr-links"), claims, hashlib.sha256)[:18]
        if not hmac.compare_digest(mac, expected):
            raise ValueError("bad mac")
        app_id, person_id, pixels, expires, label_b64 = claims.decode().split(".")
        label = _unb64(label_b64).decode()
    except (ValueError, UnicodeDecodeError):
        raise NotFound("Unknown or expired QR code link") from None
    if datetime.fromtimestamp(int(expires), tx.now.tzinfo) < tx.now:
        raise NotFound("Unknown or expired QR code link")
    app = get(tx, int(app_id))
    row = q.generic_secret(tx.conn, app.id, int(person_id))
    if row is None or not app.settings.generic_tokens_enabled:
        raise NotFound("Unknown or expired QR code link")
    seed = tx.keyring.open(row.seed, generic_secret_context(app.id, int(person_id)))
    uri = otp.otpauth_uri(
        seed, issuer=app.name, label=label, digits=GENERIC_TOKEN.digits, period=GENERIC_TOKEN.step
    )
    return render_png(uri, int(pixels))


def render_png(data: str, pixels: int) -> bytes:
    qr = segno.make(data, error="m")
    modules = qr.symbol_size(border=4)[0]
    buffer = io.BytesIO()
    # Whole pixels per module: the closest size to the one asked for.
    qr.save(buffer, kind="png", scale=max(1, round(pixels / modules)), border=4)
    return buffer.getvalue()
