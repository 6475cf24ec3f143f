"""Queries on webhooks, the dashboard credentials that manage them, and signed-request nonces."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, insert, select, update

from twostep.store import raw
from twostep.store.schema import api_nonces, dashboard_keys, webhooks
from twostep.store.upsert import insert_ignore

Record = Any


def keys_for(conn: Connection, app_id: int) -> Record | None:
    return conn.execute(select(dashboard_keys).where(dashboard_keys.c.app_id == app_id)).first()


def create_keys(
    conn: Connection, app_id: int, *, access_key: str, signing_key: str, now: datetime
) -> bool:
    return insert_ignore(
        conn,
        dashboard_keys,
        {"app_id": app_id, "access_key": access_key, "signing_key": signing_key, "created_at": now},
        ["app_id"],
    )


def replace_key(conn: Connection, app_id: int, column: str, sealed: str, now: datetime) -> None:
    conn.execute(
        update(dashboard_keys)
        .where(dashboard_keys.c.app_id == app_id)
        .values({column: sealed, "rotated_at": now})
    )


def insert_webhook(conn: Connection, **values: Any) -> None:
    conn.execute(insert(webhooks).values(**values))


def webhooks_of(conn: Connection, app_id: int) -> list[Record]:
    return list(
        conn.execute(select(webhooks).where(webhooks.c.app_id == app_id).order_by(webhooks.c.id))
    )


def webhook(conn: Connection, public_id: str) -> Record | None:
    return conn.execute(select(webhooks).where(webhooks.c.public_id == public_id)).first()


def webhook_by_id(conn: Connection, webhook_id: int) -> Record | None:
    return conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first()


def delete_webhook(conn: Connection, app_id: int, public_id: str) -> bool:
    result = conn.execute(
        delete(webhooks).where(webhooks.c.app_id == app_id, webhooks.c.public_id == public_id)
    )
    return result.rowcount == 1


class Subscriber(NamedTuple):
    id: int
    public_id: str
    events: list[str]


_SUBSCRIBERS = raw.Sql("SELECT id, public_id, events FROM webhooks WHERE app_id = ?")


def subscribers(conn: Connection, app_id: int) -> list[Subscriber]:
    """Every webhook of the app (raw SQL: events are emitted on hot paths such as verify)."""
    return [
        Subscriber(r[0], r[1], raw.parse_json(r[2]))
        for r in raw.many(conn, _SUBSCRIBERS, (app_id,))
    ]


def use_nonce(conn: Connection, app_id: int, nonce: str, now: datetime) -> bool:
    """Record a nonce; False if the application already used it (a replay)."""
    return insert_ignore(
        conn, api_nonces, {"app_id": app_id, "nonce": nonce, "at": now}, ["app_id", "nonce"]
    )


def forget_nonces(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(api_nonces).where(api_nonces.c.at < before)).rowcount
