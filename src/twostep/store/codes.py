"""Queries on one-time codes (sms/voice/email OneCodes) and authenticator seeds used by verify."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from twostep.store.schema import device_seeds, devices, otp_codes, totp_secrets
from twostep.store.upsert import insert_ignore

Record = Any  # a SQLAlchemy Row: columns by attribute name


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
    conn.execute(
        insert(otp_codes).values(
            app_id=app_id,
            person_id=person_id,
            channel=channel,
            digest=digest,
            action=action,
            attempts=0,
            created_at=now,
            expires_at=expires_at,
        )
    )


def live_codes(conn: Connection, app_id: int, person_id: int, now: datetime) -> list[Record]:
    """Codes not yet expired, consumed or not (a consumed one identifies a replay)."""
    return list(
        conn.execute(
            select(
                otp_codes.c.id,
                otp_codes.c.digest,
                otp_codes.c.action,
                otp_codes.c.attempts,
                otp_codes.c.consumed_at,
                otp_codes.c.channel,
            ).where(
                otp_codes.c.app_id == app_id,
                otp_codes.c.person_id == person_id,
                otp_codes.c.expires_at > now,
            )
        ).all()
    )


def consume_code(conn: Connection, code_id: int, now: datetime) -> bool:
    """Mark a code used; False if another verification got there first."""
    result = conn.execute(
        update(otp_codes)
        .where(otp_codes.c.id == code_id, otp_codes.c.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    return result.rowcount == 1


def consume_all(conn: Connection, app_id: int, person_id: int, now: datetime) -> None:
    """After a successful verification no older code of the user stays usable."""
    conn.execute(
        update(otp_codes)
        .where(
            otp_codes.c.app_id == app_id,
            otp_codes.c.person_id == person_id,
            otp_codes.c.consumed_at.is_(None),
        )
        .values(consumed_at=now)
    )


def count_failed_attempt(conn: Connection, code_ids: list[int]) -> None:
    if code_ids:
        conn.execute(
            update(otp_codes)
            .where(otp_codes.c.id.in_(code_ids))
            .values(attempts=otp_codes.c.attempts + 1)
        )


def delete_expired_codes(conn: Connection, now: datetime) -> int:
    return conn.execute(delete(otp_codes).where(otp_codes.c.expires_at <= now)).rowcount


def device_seeds_for(conn: Connection, app_id: int, person_id: int) -> list[Record]:
    """Seeds of the person's active devices for this application."""
    return list(
        conn.execute(
            select(
                device_seeds.c.id,
                device_seeds.c.seed,
                device_seeds.c.last_step,
                devices.c.id.label("device_id"),
                devices.c.os_type,
                devices.c.created_at,
                devices.c.last_sync_at,
                devices.c.registration_method,
                devices.c.registration_ip,
            )
            .select_from(device_seeds.join(devices, devices.c.id == device_seeds.c.device_id))
            .where(
                and_(
                    device_seeds.c.app_id == app_id,
                    devices.c.person_id == person_id,
                    devices.c.status == "active",
                    device_seeds.c.revoked_at.is_(None),
                )
            )
        ).all()
    )


def advance_device_step(conn: Connection, seed_id: int, step: int) -> bool:
    """Compare-and-set the last accepted time-step; False means the step was already used."""
    result = conn.execute(
        update(device_seeds)
        .where(device_seeds.c.id == seed_id, device_seeds.c.last_step < step)
        .values(last_step=step)
    )
    return result.rowcount == 1


def generic_secret(conn: Connection, app_id: int, person_id: int) -> Record | None:
    return conn.execute(
        select(totp_secrets.c.id, totp_secrets.c.seed, totp_secrets.c.last_step).where(
            totp_secrets.c.app_id == app_id, totp_secrets.c.person_id == person_id
        )
    ).first()


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
    result = conn.execute(
        update(totp_secrets)
        .where(totp_secrets.c.id == secret_id, totp_secrets.c.last_step < step)
        .values(last_step=step)
    )
    return result.rowcount == 1
