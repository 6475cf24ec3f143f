"""Applications: creation, API keys (hashed; derivable for callback signing), per-app settings."""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from twostep.core import crypto
from twostep.errors import InvalidApiKey, NotFound
from twostep.services.runtime import Tx
from twostep.store import apps as q

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class SettingError(ValueError):
    pass


def _bounded(low: int, high: int) -> dict[str, Any]:
    return {"min": low, "max": high}


def _choices(*values: str) -> dict[str, Any]:
    return {"choices": values}


@dataclass(frozen=True, slots=True)
class AppSettings:
    """Per-application settings. Stored as JSON; unknown keys are ignored when read so that nodes of
    the previous release keep working during a rolling upgrade."""

    plan: str = "pay_as_you_go"
    sms_enabled: bool = True
    phone_calls_enabled: bool = True
    email_enabled: bool = True
    onetouch_enabled: bool = True
    generic_tokens_enabled: bool = True
    white_label: bool = False
    token_length: int = field(default=7, metadata=_bounded(6, 10))
    onetouch_callback_url: str = ""
    onetouch_callback_method: str = field(default="POST", metadata=_choices("POST", "GET"))
    sandbox: bool = False
    # Authy accepted any well-formed token until a user's first valid one unless force=true;
    # off by default (tokens are always checked), see docs/compat.md.
    legacy_unconfirmed_tokens: bool = False
    # anti-fatigue for OneTouch: the customer shows a number the person must pick on the device
    number_matching: bool = False
    max_pending_approvals: int = field(default=0, metadata=_bounded(0, 100))  # 0: no limit
    # phone verification (P1): may the caller supply the message text / the code itself?
    custom_message_enabled: bool = False
    custom_code_enabled: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AppSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


SETTING_NAMES = ("name", *(f.name for f in dataclasses.fields(AppSettings)))
_READ_ONLY = {"sandbox"}


def parse_setting(name: str, text: str) -> Any:
    """Turn ``key=value`` text from the CLI or admin API into a typed, validated setting value."""
    fields = {f.name: f for f in dataclasses.fields(AppSettings)}
    if name not in fields or name in _READ_ONLY:
        raise SettingError(f"unknown setting {name!r}; known: {', '.join(sorted(SETTING_NAMES))}")
    spec = fields[name]
    value: Any
    if spec.type in ("bool", bool):
        lowered = text.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise SettingError(f"{name} must be true or false")
        value = lowered in _TRUE
    elif spec.type in ("int", int):
        try:
            value = int(text)
        except ValueError:
            raise SettingError(f"{name} must be an integer") from None
        low, high = spec.metadata.get("min"), spec.metadata.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise SettingError(f"{name} must be between {low} and {high}")
    else:
        value = text.strip()
        choices = spec.metadata.get("choices")
        if choices:
            value = value.upper() if name.endswith("_method") else value
            if value not in choices:
                raise SettingError(f"{name} must be one of {', '.join(choices)}")
    if name == "onetouch_callback_url" and value:
        _check_callback_url(value)
    return value


def _check_callback_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingError("onetouch_callback_url must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise SettingError("onetouch_callback_url must not carry credentials")


@dataclass(frozen=True, slots=True)
class App:
    id: int
    public_id: str
    name: str
    settings: AppSettings
    created_at: datetime


def _app(row: Any) -> App:
    return App(row.id, row.public_id, row.name, AppSettings.from_json(row.settings), row.created_at)


def create(tx: Tx, name: str, *, sandbox: bool = False) -> tuple[App, str]:
    """A new application and its first API key (returned once, stored only as a hash)."""
    name = name.strip()
    if not name or len(name) > 255:
        raise SettingError("name must be 1 to 255 characters")
    settings = AppSettings(sandbox=sandbox)
    if sandbox:
        settings = dataclasses.replace(settings, plan="sandbox")
    app_id = q.insert_app(
        tx.conn,
        public_id=crypto.random_hex_id(),
        name=name,
        settings=settings.to_json(),
        now=tx.now,
    )
    key = _issue_key(tx, app_id, serial=1)
    return get(tx, app_id), key


def _issue_key(tx: Tx, app_id: int, serial: int) -> str:
    salt = secrets.token_bytes(16)
    key = tx.keyring.api_key(app_id, serial, salt)
    q.insert_key(
        tx.conn,
        app_id=app_id,
        key_hash=crypto.api_key_hash(key),
        serial=serial,
        salt=salt,
        now=tx.now,
    )
    return key


def rotate_key(tx: Tx, app: App, *, grace_seconds: int = 0) -> str:
    """Issue a new key; the old ones stop working after ``grace_seconds``."""
    q.expire_keys(tx.conn, app.id, tx.now + timedelta(seconds=grace_seconds))
    _forget_cached(tx)
    return _issue_key(tx, app.id, serial=q.max_serial(tx.conn, app.id) + 1)


def signing_key(tx: Tx, app: App) -> str:
    """The app's current API key, which Authy's callback signature uses as the HMAC key."""
    row = q.current_key(tx.conn, app.id)
    if row is None:
        raise NotFound(f"application {app.id} has no active API key")
    return tx.keyring.api_key(app.id, row.serial, row.salt)


def authenticate(tx: Tx, api_key: str | None) -> App:
    """The application of an API key. A process remembers keys it checked for
    ``app_cache_seconds`` (every request authenticates: this saves a query and parsing the
    settings); keys in a rotation grace period are always checked against their end."""
    if not api_key:
        raise InvalidApiKey
    digest = crypto.api_key_hash(api_key)
    cache = tx.rt.app_cache
    known = cache.get(digest)
    if known is not None and known[0] > time.monotonic():
        return known[1]
    row = q.app_by_key_hash(tx.conn, digest, tx.now)
    if row is None:
        raise InvalidApiKey
    app = _app(row)
    ttl = tx.settings.app_cache_seconds
    if ttl > 0 and row.key_expires_at is None:
        cache[digest] = (time.monotonic() + ttl, app)
    return app


def _forget_cached(tx: Tx) -> None:
    """This process drops what it remembered at once (others within ``app_cache_seconds``)."""
    tx.after_commit.append(tx.rt.app_cache.clear)


def get(tx: Tx, app_id: int) -> App:
    row = q.app_by_id(tx.conn, app_id)
    if row is None:
        raise NotFound(f"no application with id {app_id}")
    return _app(row)


def find(tx: Tx, ident: str) -> App:
    """An application by integer id or by its (unique) name."""
    if ident.isdigit():
        return get(tx, int(ident))
    rows = q.apps_by_name(tx.conn, ident)
    if len(rows) == 1:
        return _app(rows[0])
    if not rows:
        raise NotFound(f"no application named {ident!r}")
    raise NotFound(f"several applications are named {ident!r}; use the id")


def list_all(tx: Tx) -> list[App]:
    return [_app(r) for r in q.all_apps(tx.conn)]


def update_settings(tx: Tx, app: App, changes: dict[str, str]) -> App:
    name = app.name
    values: dict[str, Any] = {}
    for key, text in changes.items():
        if key == "name":
            name = text.strip()
            if not name or len(name) > 255:
                raise SettingError("name must be 1 to 255 characters")
        else:
            values[key] = parse_setting(key, text)
    settings = dataclasses.replace(app.settings, **values)
    q.update_app(tx.conn, app.id, name=name, settings=settings.to_json(), now=tx.now)
    _forget_cached(tx)
    return get(tx, app.id)


def describe(app: App) -> dict[str, Any]:
    """Everything an operator may see about an app (never the API key)."""
    return {
        "app_id": app.id,
        "public_id": app.public_id,
        "name": app.name,
        "created_at": app.created_at.isoformat(),
        **app.settings.to_json(),
    }
