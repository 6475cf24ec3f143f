"""The webhooks API (spec §6): dashboard credentials (access key + API signing key, per
application, sealed, shown to operators), signed management requests, and webhook CRUD."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from twostep.core import signatures
from twostep.errors import InvalidAccessKey, InvalidSignature, WebhookInvalid, WebhookNotFound
from twostep.services import apps
from twostep.services.apps import App
from twostep.services.events import EVENTS, account_sid, forget_cached, service_id
from twostep.services.runtime import Tx
from twostep.store import webhooks as q

NONCE_WINDOW = timedelta(minutes=5)
NONCE_MEMORY = timedelta(days=30)  # nonces that are not timestamps are remembered this long
MAX_WEBHOOKS = 50


@dataclass(frozen=True, slots=True)
class DashboardKeys:
    access_key: str
    signing_key: str


def _aad(app_id: int, column: str) -> str:
    return f"dashboard_keys:{column}:{app_id}"


def _new_secret() -> str:
    return secrets.token_urlsafe(24)


def keys(tx: Tx, app: App) -> DashboardKeys:
    """The application's access key and API signing key, created on first use."""
    row = q.keys_for(tx.conn, app.id)
    if row is None:
        q.create_keys(
            tx.conn,
            app.id,
            now=tx.now,
            access_key=tx.keyring.seal(_new_secret().encode(), _aad(app.id, "access_key")),
            signing_key=tx.keyring.seal(_new_secret().encode(), _aad(app.id, "signing_key")),
        )
        row = q.keys_for(tx.conn, app.id)
    assert row is not None
    return DashboardKeys(
        tx.keyring.open(row.access_key, _aad(app.id, "access_key")).decode(),
        tx.keyring.open(row.signing_key, _aad(app.id, "signing_key")).decode(),
    )


def rotate(tx: Tx, app: App, which: str) -> DashboardKeys:
    """A new access key or signing key (``which`` is "access_key" or "signing_key")."""
    if which not in ("access_key", "signing_key"):
        raise ValueError(which)
    keys(tx, app)
    sealed = tx.keyring.seal(_new_secret().encode(), _aad(app.id, which))
    q.replace_key(tx.conn, app.id, which, sealed, tx.now)
    return keys(tx, app)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    nonce: str
    signature: str
    method: str
    urls: tuple[str, ...]  # the URL as this server saw it, and as the public URL names it
    params: dict[str, Any]


def authenticate(tx: Tx, request: SignedRequest) -> App:
    """The application behind a signed dashboard request: the app API key and access key must
    match, the HMAC signature (API signing key) must verify, the nonce must be new."""
    api_key, access_key = request.params.get("app_api_key"), request.params.get("access_key")
    if not isinstance(api_key, str) or not isinstance(access_key, str):
        raise InvalidAccessKey
    app = apps.authenticate(tx, api_key)
    current = keys(tx, app)
    if not hmac.compare_digest(access_key.encode(), current.access_key.encode()):
        raise InvalidAccessKey
    if not request.nonce or len(request.nonce) > 128 or not request.signature:
        raise InvalidSignature
    if not any(
        signatures.verify_api_request(
            current.signing_key,
            request.nonce,
            request.method,
            url,
            request.params,
            signature=request.signature,
        )
        for url in request.urls
    ):
        raise InvalidSignature
    _check_nonce(tx, app, request.nonce)
    return app


def _check_nonce(tx: Tx, app: App, nonce: str) -> None:
    try:
        when = float(nonce)
    except ValueError:
        when = None
    if when is not None and abs(when - tx.now.timestamp()) > NONCE_WINDOW.total_seconds():
        raise InvalidSignature
    if not q.use_nonce(tx.conn, app.id, nonce, tx.now):
        raise InvalidSignature


def forget_nonces(tx: Tx) -> int:
    return q.forget_nonces(tx.conn, tx.now - NONCE_MEMORY)


def _view(app: App, row: Any, tx: Tx) -> dict[str, Any]:
    return {
        "id": row.public_id,
        "name": row.name,
        "account_sid": account_sid(app.public_id),
        "service_id": service_id(app.public_id),
        "url": row.url,
        "signing_key": tx.keyring.open(row.signing_key, f"webhooks:{row.public_id}").decode(),
        "events": list(row.events),
        "creation_date": row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _valid_url(url: object) -> str:
    if not isinstance(url, str) or len(url) > 2000:
        raise WebhookInvalid("url must be an http(s) URL of at most 2000 characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise WebhookInvalid("url must be an absolute http(s) URL without credentials")
    return url


def create(tx: Tx, app: App, *, name: object, url: object, events: object) -> dict[str, Any]:
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise WebhookInvalid("name is required (1 to 255 characters)")
    if isinstance(events, str):
        events = [events]
    if not isinstance(events, list) or not events:
        raise WebhookInvalid("events[] must name at least one event")
    unknown = sorted({str(e) for e in events} - set(EVENTS))
    if unknown:
        raise WebhookInvalid(f"unknown events: {', '.join(unknown)}")
    if len(q.webhooks_of(tx.conn, app.id)) >= MAX_WEBHOOKS:
        raise WebhookInvalid(f"at most {MAX_WEBHOOKS} webhooks per application")
    public_id = "WH_" + secrets.token_hex(15) + "0"
    signing_key = "WSK_" + secrets.token_urlsafe(24)
    q.insert_webhook(
        tx.conn,
        public_id=public_id,
        app_id=app.id,
        name=name.strip(),
        url=_valid_url(url),
        events=sorted(set(map(str, events))),
        created_at=tx.now,
        signing_key=tx.keyring.seal(signing_key.encode(), f"webhooks:{public_id}"),
    )
    forget_cached(tx)
    row = q.webhook(tx.conn, public_id)
    return _view(app, row, tx)


def list_for(tx: Tx, app: App) -> list[dict[str, Any]]:
    return [_view(app, row, tx) for row in q.webhooks_of(tx.conn, app.id)]


def delete(tx: Tx, app: App, public_id: str) -> None:
    if not q.delete_webhook(tx.conn, app.id, public_id):
        raise WebhookNotFound
    forget_cached(tx)


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    signing_key: str


def target(tx: Tx, webhook_id: int) -> Target | None:
    """Where a queued event goes and the key its JWT is signed with (None: webhook deleted)."""
    row = q.webhook_by_id(tx.conn, webhook_id)
    if row is None:
        return None
    return Target(row.url, tx.keyring.open(row.signing_key, f"webhooks:{row.public_id}").decode())
