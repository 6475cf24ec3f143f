"""SIM-swap protection (docs/device-protocol.md §2.1): a device enrolled by phone while the person
already has an active device waits as *pending*. An existing device enrolled by phone approves or
cancels it; otherwise it activates once the recovery period has passed (``activate_due``, run by
the worker, and at once when the waiting device asks after that moment).

Every step is recorded in the audit log (``account_recovery_started/_approved/_canceled``),
announced to the person's listening devices (topic ``person:{id}``) and pushed to the existing
devices. Devices enrolled by an application's link serve that application only; they neither see
nor decide recoveries, which would give them a say over every application of the person."""

from __future__ import annotations

from typing import Any

from twostep.errors import EnrollmentNotFound, InvalidSignature
from twostep.services import audit, device_seeds, devices, events
from twostep.services.device_model import Device
from twostep.services.runtime import Tx
from twostep.store import devices as device_q
from twostep.store import enrollments as q

PUSH_TITLE = "New device"
PUSH_BODY = {
    "account_recovery_started": "A new device asks to join your account: approve or cancel it.",
    "account_recovery_approved": "A new device was added to your account.",
    "account_recovery_canceled": "A new device was refused.",
}


def _epoch(value: Any) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _tell(tx: Tx, event: str, public_id: str, person_id: int, device: Device, *, by: str) -> None:
    audit.record(tx, event, person_id=person_id, detail=f"{public_id} device={device.uuid} by={by}")
    events.for_person(
        tx,
        person_id,
        device_q.registered_app_ids(tx.conn, person_id),
        event,
        device={"s_uuid": device.uuid, "s_os_type": device.os_type},
    )
    tx.announce(f"person:{person_id}")
    existing = [
        row
        for row in device_q.active_of_person(tx.conn, person_id)
        if row.id != device.id and device_seeds.serves_every_app(row.registration_method)
    ]
    data = {"event": event, "enrollment_id": public_id}
    devices.push(tx, existing, title=PUSH_TITLE, body=PUSH_BODY[event], data=data)


def started(tx: Tx, public_id: str, person_id: int, device: Device) -> None:
    _tell(tx, "account_recovery_started", public_id, person_id, device, by="phone")


def view(tx: Tx, row: Any) -> dict[str, Any]:
    device = devices.load(tx, int(row.device_id))
    return {
        "enrollment_id": row.public_id,
        "status": row.status,
        "device": devices.view(device),
        "activates_at": _epoch(row.activates_at),
    }


def _activate(tx: Tx, row: Any, by: str) -> bool:
    if not q.move(tx.conn, row.id, "pending_approval", status="completed", completed_at=tx.now):
        return False
    device_id = int(row.device_id)
    if not device_q.activate(tx.conn, device_id):
        # revoked while it waited (by an administrator): nothing to activate
        q.move(tx.conn, row.id, "completed", status="canceled")
        return False
    device_seeds.seed_device(tx, device_id, int(row.person_id), row.method, row.app_id)
    device = devices.load(tx, device_id)
    _tell(tx, "account_recovery_approved", row.public_id, int(row.person_id), device, by=by)
    return True


def activate_due(tx: Tx) -> int:
    """Activate the pending devices whose recovery period has passed (worker maintenance)."""
    return sum(_activate(tx, row, "recovery_period") for row in q.due(tx.conn, tx.now))


def _reload(tx: Tx, public_id: str) -> Any:
    return q.by_public_id(tx.conn, public_id)


def status(tx: Tx, device: Device, enrollment_id: str) -> dict[str, Any]:
    """What the enrolling device polls. A pending device may read only its own enrolment, and so
    may a device whose enrolment was canceled (to learn it); accounts come once it is active."""
    row = (
        q.by_public_id(tx.conn, enrollment_id, for_update=True)
        if len(enrollment_id) <= 64
        else None
    )
    if row is None or row.device_id != device.id:
        if device.status != "active":
            raise InvalidSignature
        raise EnrollmentNotFound
    if device.status == "revoked" and row.status != "canceled":
        raise InvalidSignature
    if row.status == "pending_approval" and row.activates_at <= tx.now:
        _activate(tx, row, "recovery_period")
        row = _reload(tx, enrollment_id)
    body = view(tx, row)
    if row.status == "completed" and body["device"]["status"] == "active":
        body["accounts"] = device_seeds.accounts(tx, device.id)
    return body


def _can_decide(device: Device) -> bool:
    return device.status == "active" and device_seeds.serves_every_app(device.registration_method)


def awaiting(tx: Tx, device: Device) -> list[dict[str, Any]]:
    """Pending recovery enrolments of the device's person that it may decide."""
    if not _can_decide(device):
        return []
    return [
        {k: v for k, v in view(tx, row).items() if k != "status"}
        for row in q.awaiting_approval(tx.conn, device.person_id)
        if row.activates_at > tx.now
    ]


def _decidable(tx: Tx, device: Device, enrollment_id: str) -> Any:
    row = (
        q.by_public_id(tx.conn, enrollment_id, for_update=True)
        if len(enrollment_id) <= 64
        else None
    )
    if (
        row is None
        or not _can_decide(device)
        or row.person_id != device.person_id
        or row.status != "pending_approval"
        or row.activates_at <= tx.now
    ):
        raise EnrollmentNotFound
    return row


def approve(tx: Tx, device: Device, enrollment_id: str) -> dict[str, Any]:
    row = _decidable(tx, device, enrollment_id)
    if not _activate(tx, row, device.uuid):
        raise EnrollmentNotFound
    return view(tx, _reload(tx, enrollment_id))


def cancel(tx: Tx, device: Device, enrollment_id: str) -> dict[str, Any]:
    row = _decidable(tx, device, enrollment_id)
    if not q.move(tx.conn, row.id, "pending_approval", status="canceled", completed_at=tx.now):
        raise EnrollmentNotFound
    device_q.revoke(tx.conn, int(row.device_id), tx.now)
    refused = devices.load(tx, int(row.device_id))
    _tell(
        tx,
        "account_recovery_canceled",
        row.public_id,
        int(row.person_id),
        refused,
        by=device.uuid,
    )
    return view(tx, _reload(tx, enrollment_id))
