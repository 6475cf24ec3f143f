"""Cross-node notifications through PostgreSQL NOTIFY, sent when the transaction commits."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
from sqlalchemy import Connection

from twostep.store import raw

log = logging.getLogger("twostep.notify")

CHANNEL = "twostep_events"


_NOTIFY = raw.Sql("SELECT pg_notify(?, ?)")


def notify(conn: Connection, topic: str) -> None:
    if conn.dialect.name == "postgresql":
        raw.later(conn, _NOTIFY, (CHANNEL, topic))


async def listen(url: str, on_topic: Callable[[str], None]) -> None:
    """Deliver every NOTIFY on our channel to ``on_topic`` until cancelled (PostgreSQL only).
    Reconnects after a lost connection."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                async for note in conn.notifies():
                    on_topic(note.payload)
        except psycopg.OperationalError:
            log.warning("lost the notification connection; reconnecting")
            await anyio.sleep(1.0)
