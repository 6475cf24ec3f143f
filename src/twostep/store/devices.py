"""Queries on authenticator devices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, insert, select, update

from twostep.store import batching, raw
from twostep.store.compiled import Compiled
from twostep.store.schema import app_users, applications, device_nonces, device_seeds, devices
from twostep.store.upsert import insert_ignore, insert_ignore_statement

Record = Any


_APP_IDS = Compiled(
    select(device_seeds.c.app_id).where(
        device_seeds.c.device_id == bindparam("device_id"), device_seeds.c.revoked_at.is_(None)
    )
)
_BY_UUID = Compiled(select(devices).where(devices.c.uuid == bindparam("uuid")))
_FOR_SIGNED_REQUEST = Compiled(
    select(
        devices,
        exists()
        .where(
            device_nonces.c.device_id == devices.c.id, device_nonces.c.nonce == bindparam("nonce")
        )
        .label("nonce_used"),
    ).where(devices.c.uuid == bindparam("uuid"))
)
_TOUCH = Compiled(
    update(devices)
    .where(devices.c.id == bindparam("device_id"))
    .values(last_sync_at=bindparam("now"))
)
_REMEMBER_NONCE = Compiled(
    lambda dialect: insert_ignore_statement(
        dialect, device_nonces, ["device_id", "nonce", "at"], ["device_id", "nonce"]
    )
)


def app_ids_for_device(conn: Connection, device_id: int) -> list[int]:
    """Applications the device serves (its seeds that no application revoked)."""
    return _APP_IDS.scalars(conn, device_id=device_id)


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


# --- one device --------------------------------------------------------------------------------


def by_uuid(conn: Connection, uuid: str) -> Record | None:
    return _BY_UUID.first(conn, uuid=uuid)


def for_signed_request(conn: Connection, uuid: str, nonce: str) -> Record | None:
    """``by_uuid`` with ``nonce_used``: whether the device used ``nonce`` before (one query)."""
    return _FOR_SIGNED_REQUEST.first(conn, uuid=uuid, nonce=nonce)


def by_id(conn: Connection, device_id: int) -> Record | None:
    return conn.execute(select(devices).where(devices.c.id == device_id)).first()


def insert_device(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(devices).values(**values))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def activate(conn: Connection, device_id: int) -> bool:
    """pending → active; False if the device is no longer pending."""
    result = conn.execute(
        update(devices)
        .where(devices.c.id == device_id, devices.c.status == "pending")
        .values(status="active")
    )
    return result.rowcount == 1


def revoke(conn: Connection, device_id: int, now: datetime) -> bool:
    """Revoke the device for every application; False if it already was."""
    result = conn.execute(
        update(devices)
        .where(devices.c.id == device_id, devices.c.status != "revoked")
        .values(status="revoked", revoked_at=now)
    )
    return result.rowcount == 1


def set_push_address(conn: Connection, device_id: int, sealed: str | None) -> None:
    conn.execute(update(devices).where(devices.c.id == device_id).values(push_address=sealed))


def touch(conn: Connection, device_id: int, now: datetime) -> None:
    _TOUCH.later(conn, device_id=device_id, now=now)


def active_of_person(conn: Connection, person_id: int) -> list[Record]:
    return list(
        conn.execute(
            select(devices)
            .where(devices.c.person_id == person_id, devices.c.status == "active")
            .order_by(devices.c.id)
        ).all()
    )


def listing(conn: Connection, person_id: int | None = None) -> list[Record]:
    """Devices (of one person, or all) with the applications each still serves, for admins."""
    query = select(devices).order_by(devices.c.id)
    if person_id is not None:
        query = query.where(devices.c.person_id == person_id)
    return list(conn.execute(query).all())


# --- seeds ---------------------------------------------------------------------------------------


def registered_app_ids(conn: Connection, person_id: int) -> list[int]:
    """Applications where the person is currently registered (not deleted)."""
    return list(
        conn.execute(
            select(app_users.c.app_id)
            .where(app_users.c.person_id == person_id, app_users.c.deleted_at.is_(None))
            .order_by(app_users.c.app_id)
        ).scalars()
    )


def insert_seed(conn: Connection, *, device_id: int, app_id: int, seed: str, now: datetime) -> bool:
    """Add a seed unless the device already has (or had: revoked) one for the application."""
    return insert_ignore(
        conn,
        device_seeds,
        {
            "device_id": device_id,
            "app_id": app_id,
            "seed": seed,
            "last_step": -1,
            "created_at": now,
        },
        ["device_id", "app_id"],
    )


def devices_missing_seed(
    conn: Connection, person_id: int, app_id: int, methods: Sequence[str]
) -> list[int]:
    """Active devices of the person, enrolled by one of ``methods``, without a seed for the app."""
    has_seed = exists().where(
        and_(device_seeds.c.device_id == devices.c.id, device_seeds.c.app_id == app_id)
    )
    return list(
        conn.execute(
            select(devices.c.id).where(
                devices.c.person_id == person_id,
                devices.c.status == "active",
                devices.c.registration_method.in_(methods),
                ~has_seed,
            )
        ).scalars()
    )


def live_seeds(conn: Connection, device_id: int) -> list[Record]:
    """The device's seeds no application revoked, for registrations that still exist, with the
    application's name: the device's accounts."""
    return list(
        conn.execute(
            select(
                device_seeds.c.app_id,
                device_seeds.c.seed,
                applications.c.name.label("app_name"),
                app_users.c.person_id,
            )
            .join(applications, applications.c.id == device_seeds.c.app_id)
            .join(devices, devices.c.id == device_seeds.c.device_id)
            .join(
                app_users,
                and_(
                    app_users.c.app_id == device_seeds.c.app_id,
                    app_users.c.person_id == devices.c.person_id,
                ),
            )
            .where(
                device_seeds.c.device_id == device_id,
                device_seeds.c.revoked_at.is_(None),
                app_users.c.deleted_at.is_(None),
            )
            .order_by(device_seeds.c.app_id)
        ).all()
    )


def revoke_seed(conn: Connection, device_id: int, app_id: int, now: datetime) -> bool:
    """The application stops trusting the device; False if it had no live seed for it."""
    result = conn.execute(
        update(device_seeds)
        .where(
            device_seeds.c.device_id == device_id,
            device_seeds.c.app_id == app_id,
            device_seeds.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return result.rowcount == 1


def has_seed(conn: Connection, device_id: int, app_id: int) -> bool:
    """Whether the device has, or had, a seed for the application."""
    found = conn.execute(
        select(device_seeds.c.id).where(
            device_seeds.c.device_id == device_id, device_seeds.c.app_id == app_id
        )
    ).first()
    return found is not None


# --- nonces of signed requests -------------------------------------------------------------------


# the insert, raising a serialization failure where the nonce is taken (migration 0007)
_ASSERT_NONCE = raw.Sql("SELECT twostep_remember_nonce(?, ?, ?)")


def remember_nonce(
    conn: Connection, device_id: int, nonce: str, at: datetime, *, seen_used: bool
) -> bool:
    """Record the nonce; False if the device used it already (a replay). ``seen_used`` is what
    ``for_signed_request`` read in this transaction: on PostgreSQL it can miss a nonce a
    concurrent request is recording, so in a batched transaction the insert is held back as an
    assertion, and if the other request committed it first this transaction fails with a
    serialization failure and is run again (store/db.py), to find the nonce used."""
    if seen_used:
        return False
    if batching.pending(conn) is not None:
        raw.later(conn, _ASSERT_NONCE, (device_id, nonce, at))
        return True
    return _REMEMBER_NONCE.run(conn, device_id=device_id, nonce=nonce, at=at) == 1


def forget_nonces(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(device_nonces).where(device_nonces.c.at < before)).rowcount
