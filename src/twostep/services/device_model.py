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
        return {
            "city": None,
            "country": None,
            "ip": None,
            "region": None,
            "registration_city": None,
            "registration_country": None,
            "registration_ip": self.registration_ip,
            "registration_method": self.registration_method,
            "registration_region": None,
            "os_type": self.os_type,
            "last_account_recovery_at": None,
            "id": self.id,
            "registration_date": int(self.created_at.timestamp()),
            "last_sync_date": int(self.last_sync_at.timestamp()) if self.last_sync_at else None,
        }
