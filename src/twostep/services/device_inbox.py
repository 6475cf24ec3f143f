"""What waits for a device: pending approval requests from the applications it serves and, for a
device enrolled by phone, recovery enrolments it may decide. Read by the listing, the long poll and
the event stream, which re-read it with the device's id (the device was authenticated once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twostep.errors import InvalidParameter, InvalidSignature
from twostep.services import approvals, recovery
from twostep.services.device_model import Device
from twostep.services.runtime import Tx
from twostep.store import devices as q


@dataclass(frozen=True, slots=True)
class Inbox:
    approval_requests: list[dict[str, Any]]
    enrollments: list[dict[str, Any]]


def approval_requests(tx: Tx, device: Device, status: str | None) -> list[dict[str, Any]]:
    """Newest first. Only ``pending`` requests are listed."""
    if status not in (None, "pending"):
        raise InvalidParameter("status", "Only pending is supported")
    return approvals.pending_for_device(tx, device)


def still_active(tx: Tx, device_id: int) -> Device:
    """The device, if it was not revoked since it authenticated; InvalidSignature otherwise."""
    row = q.by_id(tx.conn, device_id)
    if row is None or row.status != "active":
        raise InvalidSignature
    return Device.from_row(row)


def inbox(tx: Tx, device_id: int) -> Inbox:
    device = still_active(tx, device_id)
    return Inbox(approvals.pending_for_device(tx, device), recovery.awaiting(tx, device))
