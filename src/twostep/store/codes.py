"""Queries on one-time codes (sms/voice/email OneCodes) and the TOTP seeds verify checks. Verify
runs on every login, so its queries are raw SQL (see raw.py); the rest use SQLAlchemy Core."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, delete, insert

from twostep.store import batching, raw
from twostep.store.compiled import Compiled
from twostep.store.schema import otp_codes, totp_secrets
from twostep.store.upsert import insert_ignore


class CodeRow(NamedTuple):
    id: int
    digest: bytes
    action: str | None
    attempts: int
    consumed_at: datetime | None
    channel: str


class SeedRow(NamedTuple):
    id: int
    seed: str
    last_step: int
    device_id: int
    os_type: str
    created_at: datetime
    last_sync_at: datetime | None
    registration_method: str | None
    registration_ip: str | None


class SecretRow(NamedTuple):
    id: int
    seed: str
    last_step: int


_INSERT_CODE = Compiled(
    insert(otp_codes).values(
        {
            c: bindparam(c)
            for c in (
                "app_id",
                "person_id",
                "channel",
                "digest",
                "action",
                "attempts",
                "created_at",
                "expires_at",
            )
        }
    )
)


def insert_code(
    conn: Connection,
    *,
    app_id: int,
    person_id: int,
    channel: str,
    digest: bytes,
    action: str | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    _INSERT_CODE.later(
        conn,
        app_id=app_id,
        person_id=person_id,
        channel=channel,
        digest=digest,
        action=action,
        attempts=0,
        created_at=now,
        expires_at=expires_at,
    )


_LIVE = raw.Sql(
    "SELECT id, digest, action, attempts, consumed_at, channel FROM otp_codes "
    "WHERE app_id = ? AND person_id = ? AND expires_at > ?"
)
_CONSUME = raw.Sql("UPDATE otp_codes SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL")
_CONSUME_ALL = raw.Sql(
    "UPDATE otp_codes SET consumed_at = ? WHERE app_id = ? AND person_id = ? "
    "AND consumed_at IS NULL"
)
_FAILED = raw.Sql(
    "UPDATE otp_codes SET attempts = attempts + 1 WHERE app_id = ? AND person_id = ? "
    "AND consumed_at IS NULL AND expires_at > ?"
)


def live_codes(conn: Connection, app_id: int, person_id: int, now: datetime) -> list[CodeRow]:
    """Codes not yet expired, consumed or not (a consumed one identifies a replay)."""
    rows = raw.many(conn, _LIVE, (app_id, person_id, raw.ts(conn, now)))
    return [CodeRow(r[0], raw.as_bytes(r[1]), r[2], r[3], raw.parse_ts(r[4]), r[5]) for r in rows]


def consume_code(conn: Connection, code_id: int, now: datetime) -> bool:
    """Mark a code used; False if another verification got there first."""
    return raw.run(conn, _CONSUME, (raw.ts(conn, now), code_id)) == 1


def consume_all(conn: Connection, app_id: int, person_id: int, now: datetime) -> None:
    """After a successful verification no older code of the user stays usable."""
    raw.run(conn, _CONSUME_ALL, (raw.ts(conn, now), app_id, person_id))


def count_failed_attempt(conn: Connection, app_id: int, person_id: int, now: datetime) -> None:
    """A wrong token counts against every code the user has outstanding."""
    raw.later(conn, _FAILED, (app_id, person_id, raw.ts(conn, now)))


def delete_expired_codes(conn: Connection, now: datetime) -> int:
    return conn.execute(delete(otp_codes).where(otp_codes.c.expires_at <= now)).rowcount


# A SeedRow's columns; the seeds that count are of active devices, not revoked (the verification
# context in store/users.py joins the same tables under the same conditions)
SEED_COLUMNS = (
    "s.id, s.seed, s.last_step, d.id, d.os_type, d.created_at, d.last_sync_at, "
    "d.registration_method, d.registration_ip"
)
_SEEDS = raw.Sql(
    f"SELECT {SEED_COLUMNS} "  # noqa: S608 - built from constants only
    "FROM device_seeds s JOIN devices d ON d.id = s.device_id "
    "WHERE d.person_id = ? AND s.app_id = ? AND d.status = 'active' AND s.revoked_at IS NULL"
)
_ADVANCE_DEVICE = raw.Sql("UPDATE device_seeds SET last_step = ? WHERE id = ? AND last_step < ?")
# the same, raising a serialization failure where the update would touch no row (migration 0007)
_ASSERT_ADVANCE_DEVICE = raw.Sql("SELECT twostep_advance_device_step(?, ?)")


def device_seeds_for(conn: Connection, app_id: int, person_id: int) -> list[SeedRow]:
    """Seeds of the person's active devices for this application."""
    return [seed_row(r) for r in raw.many(conn, _SEEDS, (person_id, app_id))]


def seed_row(r: tuple[Any, ...]) -> SeedRow:
    """A SeedRow from SEED_COLUMNS' values."""
    return SeedRow(
        r[0], r[1], r[2], r[3], r[4], _required(raw.parse_ts(r[5])), raw.parse_ts(r[6]), r[7], r[8]
    )


def _required(value: datetime | None) -> datetime:
    assert value is not None
    return value


def advance_device_step(conn: Connection, seed: SeedRow, step: int) -> bool:
    """Compare-and-set the seed's last accepted time-step; False means the step was already used.
    ``seed.last_step`` was read in this transaction, but on PostgreSQL possibly in a snapshot taken
    before a concurrent verification committed (store/users.py, verification_context): it may lag
    behind, never run ahead. So a step not ahead of it is used, and in a batched transaction the
    update is held back as an assertion: if another verification advanced the seed meanwhile,
    the transaction fails with a serialization failure and is run again (store/db.py)."""
    if step <= seed.last_step:
        return False
    if batching.pending(conn) is not None:
        raw.later(conn, _ASSERT_ADVANCE_DEVICE, (seed.id, step))
        return True
    return raw.run(conn, _ADVANCE_DEVICE, (step, seed.id, step)) == 1


_SECRET = raw.Sql("SELECT id, seed, last_step FROM totp_secrets WHERE app_id = ? AND person_id = ?")
_ADVANCE_SECRET = raw.Sql("UPDATE totp_secrets SET last_step = ? WHERE id = ? AND last_step < ?")


def generic_secret(conn: Connection, app_id: int, person_id: int) -> SecretRow | None:
    row = raw.one(conn, _SECRET, (app_id, person_id))
    return SecretRow(row[0], row[1], row[2]) if row else None


def insert_generic_secret(
    conn: Connection, *, app_id: int, person_id: int, seed: str, now: datetime
) -> bool:
    return insert_ignore(
        conn,
        totp_secrets,
        {
            "app_id": app_id,
            "person_id": person_id,
            "seed": seed,
            "last_step": -1,
            "created_at": now,
        },
        ["app_id", "person_id"],
    )


def advance_generic_step(conn: Connection, secret_id: int, step: int) -> bool:
    return raw.run(conn, _ADVANCE_SECRET, (step, secret_id, step)) == 1


Record = Any  # kept for callers that type rows loosely
