"""Delivery provider configuration rows (the configuration itself is sealed by the service)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from twostep.store.schema import provider_configs
from twostep.store.upsert import insert_ignore


def save(conn: Connection, name: str, sealed: str, now: datetime) -> None:
    if not insert_ignore(
        conn, provider_configs, {"name": name, "config": sealed, "updated_at": now}, ["name"]
    ):
        conn.execute(
            update(provider_configs)
            .where(provider_configs.c.name == name)
            .values(config=sealed, updated_at=now)
        )


def all_sealed(conn: Connection) -> dict[str, str]:
    rows = conn.execute(select(provider_configs.c.name, provider_configs.c.config)).all()
    return {row.name: row.config for row in rows}


def remove(conn: Connection, name: str) -> bool:
    return (
        conn.execute(delete(provider_configs).where(provider_configs.c.name == name)).rowcount == 1
    )
