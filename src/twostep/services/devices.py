"""Authenticator devices: what a device declares when it enrols (key, name, OS, push address), its
registration, the views the device protocol returns, push address rotation, pushes to a person's
devices, and revocation by the device, by a customer application (for that application only) or by
an administrator (for every application)."""

from __future__ import annotations

import re
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from twostep.core import crypto, signing
from twostep.errors import DeviceNotFound, InvalidParameter, UserNotFound
from twostep.services import audit, outbox
from twostep.services.apps import App
from twostep.services.device_model import Device
from twostep.services.runtime import Tx
from twostep.services.users import get as get_user
from twostep.store import devices as q
from twostep.store import enrollments as enrollment_q

PUSH_SCHEMES = ("fcm", "apns", "webpush", "ntfy")
MAX_PUSH_ADDRESS = 2048
MAX_NAME = 100
DEVICE_TYPE = "authy"  # what Authy reported as the device type of its app in user status
_OS_TYPE = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
_TOKEN = re.compile(r"[A-Za-z0-9._:\-]+")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")


@dataclass(frozen=True, slots=True)
class NewDevice:
    public_key: bytes
    name: str
    os_type: str
    push_address: str | None


def parse_push_address(value: object) -> str | None:
    """``<scheme>:<address>`` for a known push scheme, or None (no push)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_PUSH_ADDRESS or not value.isprintable():
        raise InvalidParameter("push_address", f"Must be a string of at most {MAX_PUSH_ADDRESS}")
    scheme, sep, rest = value.partition(":")
    pattern = _URL if scheme in ("webpush", "ntfy") else _TOKEN
    if not sep or scheme not in PUSH_SCHEMES or not pattern.fullmatch(rest):
        raise InvalidParameter(
            "push_address",
            "Must be fcm:<token>, apns:<token>, webpush:<https URL> or ntfy:<topic URL>",
        )
    return value


def parse_new_device(
    public_key: str | None, name: str | None, os_type: str | None, push_address: object
) -> NewDevice:
    try:
        raw_key = crypto.from_b64url(public_key or "")
    except ValueError:
        raw_key = b""
    if not signing.valid_public_key(raw_key):
        raise InvalidParameter("public_key", "Must be a base64url Ed25519 public key (32 bytes)")
    label = (name or "").strip()
    if not label or len(label) > MAX_NAME or not label.isprintable():
        raise InvalidParameter("name", f"Must be 1 to {MAX_NAME} printable characters")
    kind = (os_type or "").strip().lower()
    if not _OS_TYPE.fullmatch(kind):
        raise InvalidParameter("os_type", "Must be 1 to 32 characters: a-z, 0-9, '.', '_', '-'")
    return NewDevice(raw_key, label, kind, parse_push_address(push_address))


def push_context(device_id: int) -> str:
    return f"devices:push:{device_id}"


def register(
    tx: Tx, person_id: int, new: NewDevice, *, method: str, ip: str | None, status: str
) -> Device:
    device_id = q.insert_device(
        tx.conn,
        person_id=person_id,
        uuid=str(uuidlib.uuid4()),
        device_type=DEVICE_TYPE,
        os_type=new.os_type,
        name=new.name,
        public_key=new.public_key,
        registration_method=method,
        registration_ip=ip,
        status=status,
        created_at=tx.now,
    )
    if new.push_address is not None:
        sealed = tx.keyring.seal(new.push_address.encode(), push_context(device_id))
        q.set_push_address(tx.conn, device_id, sealed)
    return load(tx, device_id)


def load(tx: Tx, device_id: int) -> Device:
    row = q.by_id(tx.conn, device_id)
    if row is None:
        raise DeviceNotFound
    return Device.from_row(row)


def view(device: Device) -> dict[str, Any]:
    """The §5 device shape."""
    return {
        "device_uuid": device.uuid,
        "device_id": device.id,
        "name": device.name,
        "os_type": device.os_type,
        "status": device.status,
        "created_at": int(device.created_at.timestamp()),
    }


def set_push_address(tx: Tx, device: Device, address: object) -> None:
    parsed = parse_push_address(address)
    sealed = tx.keyring.seal(parsed.encode(), push_context(device.id)) if parsed else None
    q.set_push_address(tx.conn, device.id, sealed)
    audit.record(tx, "device_push_address_changed", person_id=device.person_id, detail=device.uuid)


def push(tx: Tx, rows: list[Any], *, title: str, body: str, data: dict[str, str]) -> int:
    """Queue a wake-up (no secret in it) to each device row that has a push address."""
    sent = 0
    for row in rows:
        if row.push_address:
            address = tx.keyring.open(row.push_address, push_context(row.id)).decode()
            payload = {"to": address, "address": address, "title": title, "body": body}
            outbox.enqueue(tx, "push", {**payload, "data": data, "code": None})
            sent += 1
    return sent


def _revoked(tx: Tx, device: Device, by: str) -> None:
    audit.record(tx, "device_revoked", person_id=device.person_id, detail=f"{device.uuid} by={by}")
    tx.announce(f"person:{device.person_id}")


def revoke_self(tx: Tx, device: Device) -> None:
    if q.revoke(tx.conn, device.id, tx.now):
        _revoked(tx, device, "device")


def revoke_for_app(tx: Tx, app: App, authy_id: object, device_id: object) -> None:
    """The application stops accepting the device's codes and approvals; the person's other
    applications keep it. Unknown to the application (not the user's, or never seeded for this
    application) → DeviceNotFound."""
    user = get_user(tx, app, authy_id)
    text = str(device_id)
    row = q.by_id(tx.conn, int(text)) if text.isdigit() and len(text) <= 18 else None
    if row is None or row.person_id != user.authy_id or not q.has_seed(tx.conn, row.id, app.id):
        raise DeviceNotFound
    if q.revoke_seed(tx.conn, row.id, app.id, tx.now):
        audit.record(
            tx,
            "device_removed_by_app",
            app_id=app.id,
            person_id=user.authy_id,
            detail=row.uuid,
        )
        tx.announce(f"person:{user.authy_id}")


def find(tx: Tx, ident: str) -> Device:
    """A device by numeric id or uuid (administration)."""
    text = ident.strip()
    if text.isdigit() and len(text) <= 18:
        row = q.by_id(tx.conn, int(text))
    else:
        row = q.by_uuid(tx.conn, text) if len(text) <= 36 else None
    if row is None:
        raise DeviceNotFound
    return Device.from_row(row)


def revoke_by_admin(tx: Tx, ident: str) -> Device:
    """Revoke a device for every application; revoking twice is harmless."""
    device = find(tx, ident)
    if q.revoke(tx.conn, device.id, tx.now):
        _revoked(tx, device, "admin")
    return find(tx, ident)


def admin_list(tx: Tx, person_id: int | None) -> list[dict[str, Any]]:
    def epoch(value: Any) -> int | None:
        return int(value.timestamp()) if value is not None else None

    return [
        {
            **view(Device.from_row(row)),
            "authy_id": row.person_id,
            "registration_method": row.registration_method,
            "push": bool(row.push_address),
            "app_ids": q.app_ids_for_device(tx.conn, row.id),
            "last_sync_at": epoch(row.last_sync_at),
            "revoked_at": epoch(row.revoked_at),
        }
        for row in q.listing(tx.conn, person_id)
    ]


def person_for_phone(tx: Tx, e164: str) -> int:
    found = enrollment_q.person_id_by_e164(tx.conn, e164)
    if found is None:
        raise UserNotFound
    return found
