"""Queries on authenticator devices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from twostep.store.schema import device_seeds, devices

Record = Any


def active_for_app(conn: Connection, person_id: int, app_id: int) -> list[Record]:
    """The person's active devices that hold a (not revoked) seed for the application."""
    return list(
        conn.execute(
            select(devices)
            .join(device_seeds, device_seeds.c.device_id == devices.c.id)
            .where(
                devices.c.person_id == person_id,
                devices.c.status == "active",
                device_seeds.c.app_id == app_id,
                device_seeds.c.revoked_at.is_(None),
            )
            .order_by(devices.c.id.desc())
        ).all()
    )


def app_ids_for_device(conn: Connection, device_id: int) -> list[int]:
    """Applications the device serves (its seeds that no application revoked)."""
    return list(
        conn.execute(
            select(device_seeds.c.app_id).where(
                device_seeds.c.device_id == device_id, device_seeds.c.revoked_at.is_(None)
            )
        ).scalars()
    )


def for_app(conn: Connection, person_id: int, app_id: int) -> list[Record]:
    """Every device of the person that has (or had) a seed for the application, with
    ``seed_revoked_at``: what the user-status endpoint reports for that application."""
    return list(
        conn.execute(
            select(devices, device_seeds.c.revoked_at.label("seed_revoked_at"))
            .join(device_seeds, device_seeds.c.device_id == devices.c.id)
            .where(
                devices.c.person_id == person_id,
                device_seeds.c.app_id == app_id,
                devices.c.status != "pending",
            )
            .order_by(devices.c.id.desc())
        ).all()
    )
