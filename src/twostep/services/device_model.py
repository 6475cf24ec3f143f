"""An authenticator device as services see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    uuid: str
    person_id: int
    public_key: bytes | None
    os_type: str
    name: str
    status: str  # pending | active | revoked
    registration_method: str | None
    registration_ip: str | None
    created_at: datetime
    last_sync_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Device:
        return cls(
            row.id,
            row.uuid,
            row.person_id,
            row.public_key,
            row.os_type,
            row.name,
            row.status,
            row.registration_method,
            row.registration_ip,
            row.created_at,
            row.last_sync_at,
        )

    def authy_view(self) -> dict[str, Any]:
        """The ``device`` object Authy put in verify answers and OneTouch callbacks."""
        return authy_device(
            self.os_type,
            self.id,
            self.created_at,
            registration_ip=self.registration_ip,
            registration_method=self.registration_method,
            last_sync_at=self.last_sync_at,
        )


def _epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def authy_device(
    os_type: str,
    device_id: int | None,
    registered_at: datetime | None,
    *,
    registration_ip: str | None = None,
    registration_method: str | None = None,
    last_sync_at: datetime | None = None,
) -> dict[str, Any]:
    """The ``device`` object of Authy's answers: what is known, null for the rest (TwoStep keeps
    no geolocation)."""
    return {
        "city": None,
        "country": None,
        "ip": None,
        "region": None,
        "registration_city": None,
        "registration_country": None,
        "registration_ip": registration_ip,
        "registration_method": registration_method,
        "registration_region": None,
        "os_type": os_type,
        "last_account_recovery_at": None,
        "id": device_id,
        "registration_date": _epoch(registered_at),
        "last_sync_date": _epoch(last_sync_at),
    }
