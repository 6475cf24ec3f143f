"""OneTouch approval requests (O1, O2): create (push queued in the same transaction), read, answer
from a device (signed statement verified and kept), expire on time, and the customer callback."""

from __future__ import annotations

import hashlib
import secrets
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from twostep import metrics
from twostep.core import crypto, signing
from twostep.errors import (
    ApprovalRequestNotFound,
    ApprovalRequestNotPending,
    FeatureDisabled,
    InvalidParameter,
    OneTouchUnregisteredUser,
    RateLimited,
)
from twostep.services import audit, callbacks, events, outbox
from twostep.services.apps import App
from twostep.services.device_model import Device
from twostep.services.runtime import Tx
from twostep.services.users import get_with_devices
from twostep.store import approvals as q
from twostep.store import devices as device_q

DEFAULT_TTL = 86400
MAX_TTL = 365 * 86400
LOGO_RESOLUTIONS = ("default", "low", "med", "high")
MAX_MESSAGE, MAX_DETAIL, MAX_DETAILS, MAX_URL = 200, 200, 50, 500
FINAL = ("approved", "denied")
# O2 must carry a valid email; a user purged since the request was made has none left.
REMOVED_USER_EMAIL = "removed-user@invalid.example"


@dataclass(frozen=True, slots=True)
class NewRequest:
    message: str
    details: dict[str, str] | None
    hidden_details: dict[str, str] | None
    logos: list[dict[str, str]] | None
    seconds_to_expire: int


@dataclass(frozen=True, slots=True)
class Created:
    uuid: str
    number: str | None  # number matching: what the customer shows the person


def _string_map(name: str, value: dict[str, Any] | None) -> dict[str, str] | None:
    if not value:
        return None
    if len(value) > MAX_DETAILS:
        raise InvalidParameter(name, f"At most {MAX_DETAILS} entries")
    result: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, dict | list) or item is None:
            raise InvalidParameter(name, "Values must be strings")
        text = str(item).lower() if isinstance(item, bool) else str(item)
        if not key or len(key) > MAX_DETAIL or len(text) > MAX_DETAIL:
            raise InvalidParameter(name, f"Keys and values must be 1 to {MAX_DETAIL} characters")
        result[str(key)] = text
    return result


def _logos(value: list[Any] | None) -> list[dict[str, str]] | None:
    if value is None:
        return None
    if not value or len(value) > len(LOGO_RESOLUTIONS):
        raise InvalidParameter("logos", f"Give 1 to {len(LOGO_RESOLUTIONS)} logos")
    logos = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"res", "url"}:
            raise InvalidParameter("logos", "Each logo needs exactly res and url")
        res, url = item["res"], item["url"]
        if res not in LOGO_RESOLUTIONS:
            raise InvalidParameter("logos", "res must be one of " + ", ".join(LOGO_RESOLUTIONS))
        if (
            not isinstance(url, str)
            or not url.startswith(("https://", "http://"))
            or len(url) > MAX_URL
        ):
            raise InvalidParameter(
                "logos", f"url must be an http(s) URL of at most {MAX_URL} characters"
            )
        logos.append({"res": res, "url": url})
    return logos


def validate(
    message: str | None,
    details: dict[str, Any] | None,
    hidden_details: dict[str, Any] | None,
    logos: list[Any] | None,
    seconds_to_expire: int | None,
) -> NewRequest:
    if not message or not message.strip():
        raise InvalidParameter("message", "Parameter is required")
    if len(message) > MAX_MESSAGE:
        raise InvalidParameter("message", f"Must be at most {MAX_MESSAGE} characters")
    ttl = DEFAULT_TTL if seconds_to_expire is None else seconds_to_expire
    if not 0 <= ttl <= MAX_TTL:
        raise InvalidParameter("seconds_to_expire", f"Must be between 0 and {MAX_TTL}")
    return NewRequest(
        message,
        _string_map("details", details),
        _string_map("hidden_details", hidden_details),
        _logos(logos),
        ttl,
    )


def create(tx: Tx, app: App, authy_id: object, new: NewRequest) -> Created:
    if not app.settings.onetouch_enabled or app.settings.sandbox:
        raise FeatureDisabled("onetouch")
    user, devices, _ = get_with_devices(tx, app, authy_id)
    if not devices:
        raise OneTouchUnregisteredUser
    limit = app.settings.max_pending_approvals
    if limit and q.count_pending(tx.conn, app.id, user.authy_id, tx.now) >= limit:
        raise RateLimited(None, "pending approvals")
    number, choices = _number_matching() if app.settings.number_matching else (None, None)
    # random (v4): a time-based v1 would carry this host's MAC address and the time, and is
    # guessable from them
    request_uuid = str(uuidlib.uuid4())
    expires = tx.now + timedelta(seconds=new.seconds_to_expire) if new.seconds_to_expire else None
    q.insert_request(
        tx.conn,
        uuid=request_uuid,
        public_id=crypto.random_hex_id(),
        app_id=app.id,
        person_id=user.authy_id,
        message=new.message,
        details=new.details,
        hidden_details=new.hidden_details,
        logos=new.logos,
        seconds_to_expire=new.seconds_to_expire,
        expires_at=expires,
        status="pending",
        notified=False,
        number_match=number,
        number_choices=choices,
        created_at=tx.now,
        updated_at=tx.now,
    )
    for device in devices:
        if device.push_address:
            address = tx.keyring.open(device.push_address, f"devices:push:{device.id}").decode()
            outbox.enqueue(
                tx,
                "push",
                {
                    "to": address,
                    "address": address,
                    "title": "Approval request",
                    "body": app.name,
                    "data": {"uuid": request_uuid},
                    "approval_uuid": request_uuid,
                    "code": None,
                },
                app_id=app.id,
            )
    tx.announce(f"person:{user.authy_id}")
    audit.record(
        tx, "approval_created", app_id=app.id, person_id=user.authy_id, detail=request_uuid
    )
    metrics.approval(tx, "created")
    return Created(request_uuid, number)


def _number_matching() -> tuple[str, list[str]]:
    picks: set[int] = set()
    while len(picks) < 3:
        picks.add(secrets.randbelow(90) + 10)
    choices = [str(n) for n in picks]
    secrets.SystemRandom().shuffle(choices)
    return choices[secrets.randbelow(3)], choices


@dataclass(frozen=True, slots=True)
class Approval:
    row: Any
    status: str
    processed_at: datetime | None


def effective(row: Any, now: datetime) -> Approval:
    """A pending request whose time is up reads as expired, whether or not the worker has written
    it yet, so the answer is exact at any moment."""
    if row.status == "pending" and row.expires_at is not None and row.expires_at <= now:
        return Approval(row, "expired", row.expires_at)
    return Approval(row, row.status, row.processed_at)


def get(tx: Tx, app: App, uuid: str) -> Approval:
    row = q.by_uuid(tx.conn, uuid) if len(uuid) <= 64 else None
    if row is None or row.app_id != app.id:
        raise ApprovalRequestNotFound(uuid)
    return effective(row, tx.now)


def shown(row: Any) -> dict[str, Any]:
    """What the device displays, and what its signature binds."""
    return {
        "app_name": row.app_name,
        "message": row.message,
        "details": row.details or {},
        "logos": row.logos or [],
        "number_choices": row.number_choices,
    }


def shown_digest(view: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(view, option=orjson.OPT_SORT_KEYS)).hexdigest()


def device_view(row: Any) -> dict[str, Any]:
    view = shown(row)
    return {
        "uuid": row.uuid,
        "app_id": row.app_id,
        "app_name": row.app_name,
        "status": row.status,
        "created_at": int(row.created_at.timestamp()),
        "expires_at": int(row.expires_at.timestamp()) if row.expires_at else None,
        "shown": view,
        "shown_digest": shown_digest(view),
    }


def pending_for_device(tx: Tx, device: Device) -> list[dict[str, Any]]:
    """Pending requests of the device's person, from the applications the device serves."""
    apps = set(device_q.app_ids_for_device(tx.conn, device.id))
    return [
        device_view(r)
        for r in q.pending_for_person(tx.conn, device.person_id, tx.now)
        if r.app_id in apps
    ]


def answer(
    tx: Tx,
    device: Device,
    uuid: str,
    *,
    status: str,
    signed_at: int,
    number: str | None,
    signature: bytes,
) -> Approval:
    """Record a device's signed answer. The signature covers the uuid, the answer, the time and
    the digest of what the device showed; the customer callback is queued in this transaction."""
    if status not in FINAL:
        raise InvalidParameter("status", "Must be approved or denied")
    row = q.for_answer(tx.conn, uuid, device.id) if len(uuid) <= 64 else None
    if row is None or row.person_id != device.person_id or not row.device_serves_app:
        raise ApprovalRequestNotFound(uuid)
    current = effective(row, tx.now)
    if current.status != "pending":
        raise ApprovalRequestNotPending(uuid, current.status)
    if abs(signed_at - tx.now.timestamp()) > tx.settings.device_clock_skew_seconds:
        raise InvalidParameter("signed_at", "Too far from the server's clock")
    digest = shown_digest(shown(row))
    statement = signing.approval_statement(uuid, status, signed_at, digest)
    if device.public_key is None or not signing.verify(device.public_key, statement, signature):
        raise InvalidParameter("signature", "Does not verify with the device key")
    reason = None
    if status == "approved" and row.number_match and number != row.number_match:
        status, reason = "denied", "number_mismatch"
    decided: dict[str, Any] = {
        "status": status,
        "processed_at": tx.now,
        "updated_at": tx.now,
        "device_id": device.id,
        "reason": reason,
        "signed_at": signed_at,
        "device_signature": crypto.b64url(signature),
        "shown_digest": digest,
    }
    if not q.decide(tx.conn, row.id, **decided):
        raise ApprovalRequestNotPending(uuid, "answered")
    callbacks.queue_onetouch(tx, row, callbacks.Answer(device, status, signature, signed_at))
    metrics.approval(tx, status)
    events.emit(
        tx,
        row.app_id,
        "one_touch_request_responded",
        {
            "user": events.user_object(row.person_id),
            "onetouch_request": {
                "s_status": status,
                "s_uuid": uuid,
                "i_seconds_to_expire": row.seconds_to_expire,
                "i_expiration_timestamp": int(row.expires_at.timestamp()) if row.expires_at else 0,
                "s_device_geolocation": "",
                "s_device_signing_time": str(signed_at),
                "s_errors": reason or "",
            },
        },
    )
    tx.announce(f"approval:{uuid}")
    audit.record(
        tx,
        f"approval_{status}",
        app_id=row.app_id,
        person_id=row.person_id,
        detail=f"{uuid} device={device.id}" + (f" reason={reason}" if reason else ""),
    )
    return effective(q.as_decided(row, **decided), tx.now)


def mark_notified(tx: Tx, uuid: str) -> None:
    q.set_notified(tx.conn, uuid, tx.now)


def expire_due(tx: Tx) -> int:
    expired = q.expire_due(tx.conn, tx.now)
    metrics.approval(tx, "expired", len(expired))
    for row in expired:
        tx.announce(f"approval:{row.uuid}")
    return len(expired)
