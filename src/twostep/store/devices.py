"""Queries on authenticator devices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from twostep.store.schema import devices

Record = Any


def devices_of(conn: Connection, person_id: int) -> list[Record]:
    """All of a person's devices, newest first (active, pending and revoked)."""
    return list(
        conn.execute(
            select(devices).where(devices.c.person_id == person_id).order_by(devices.c.id.desc())
        ).all()
    )


def newest_active(conn: Connection, person_id: int) -> Record | None:
    return conn.execute(
        select(devices)
        .where(devices.c.person_id == person_id, devices.c.status == "active")
        .order_by(devices.c.id.desc())
        .limit(1)
    ).first()
