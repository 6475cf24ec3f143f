"""Realistic data for the benchmark, inserted in bulk: one application, N users, each with an
authenticator device (Ed25519 key, 7-digit/10 s seed) and a generic TOTP secret. Seeds are derived
from the user number so the load generator can compute valid tokens without storing them."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from twostep.core.phone import region_for
from twostep.services import apps
from twostep.services.runtime import Runtime
from twostep.services.seeds import generic_secret_context, seed_context
from twostep.store.schema import app_users, device_seeds, devices, persons, totp_secrets

CHUNK = 5_000
DEVICE_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"bench-device").digest())
DEVICE_PUBLIC = DEVICE_KEY.public_key().public_bytes(
    serialization.Encoding.Raw, serialization.PublicFormat.Raw
)


def device_seed(user: int) -> bytes:
    return hashlib.sha1(f"device-seed-{user}".encode()).digest()


def generic_seed(user: int) -> bytes:
    return hashlib.sha1(f"generic-seed-{user}".encode()).digest()


def device_uuid(user: int) -> str:
    return str(uuid.UUID(bytes=hashlib.md5(f"device-{user}".encode()).digest()))


@dataclass(frozen=True)
class Seeded:
    app_id: int
    api_key: str
    users: int


def seed(rt: Runtime, users: int) -> Seeded:
    app, key = rt.run(lambda tx: apps.create(tx, "Bench Bank"))
    now = datetime.now(UTC)
    for start in range(1, users + 1, CHUNK):
        block = range(start, min(users, start + CHUNK - 1) + 1)
        rt.run(lambda tx, block=block: _insert(tx, app.id, block, now))
    if not rt.db.is_sqlite:
        rt.run(_fix_sequences)
    return Seeded(app.id, key, users)


# Every seeded number is +1 200 xxx xxxx (fewer than 10^7 users): they share their area code,
# and so the region registration would store (core.phone.region_for), found once here.
SEEDED_REGION = region_for(1, "2000000001")


def _insert(tx: object, app_id: int, block: range, now: datetime) -> None:
    conn = tx.conn  # type: ignore[attr-defined]
    keyring = tx.keyring  # type: ignore[attr-defined]
    assert block.stop < 10**7
    conn.execute(
        persons.insert(),
        [
            {
                "id": i,
                "country_code": 1,
                "national_number": f"2{i:09d}",
                "e164": f"+12{i:09d}",
                "created_at": now,
                "region": SEEDED_REGION,
            }
            for i in block
        ],
    )
    conn.execute(
        app_users.insert(),
        [
            {
                "id": i,
                "app_id": app_id,
                "person_id": i,
                "public_id": secrets.token_hex(12),
                "email": f"user{i}@example.com",
                "confirmed": True,
                "banned": False,
                "created_at": now,
                "updated_at": now,
            }
            for i in block
        ],
    )
    conn.execute(
        devices.insert(),
        [
            {
                "id": i,
                "person_id": i,
                "uuid": device_uuid(i),
                "device_type": "authy",
                "os_type": "android",
                "name": f"Phone {i}",
                "public_key": DEVICE_PUBLIC,
                "status": "active",
                "registration_method": "sms",
                "created_at": now,
            }
            for i in block
        ],
    )
    conn.execute(
        device_seeds.insert(),
        [
            {
                "id": i,
                "device_id": i,
                "app_id": app_id,
                "last_step": -1,
                "created_at": now,
                "seed": keyring.seal(device_seed(i), seed_context(i, app_id)),
            }
            for i in block
        ],
    )
    conn.execute(
        totp_secrets.insert(),
        [
            {
                "id": i,
                "app_id": app_id,
                "person_id": i,
                "last_step": -1,
                "created_at": now,
                "seed": keyring.seal(generic_seed(i), generic_secret_context(app_id, i)),
            }
            for i in block
        ],
    )


def _fix_sequences(tx: object) -> None:
    conn = tx.conn  # type: ignore[attr-defined]
    for table in ("persons", "app_users", "devices", "device_seeds", "totp_secrets"):
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        )


def database_bytes(rt: Runtime) -> int:
    if rt.db.is_sqlite:
        path = rt.db.url.removeprefix("sqlite:///")
        import os

        return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    return int(
        rt.run(
            lambda tx: tx.conn.execute(
                text("SELECT pg_database_size(current_database())")
            ).scalar_one(),
            write=False,
        )
    )


def pending_answers(rt: Runtime, limit: int) -> list[tuple[str, str, str]]:
    """(device uuid, request uuid, shown digest) of pending approval requests, for device answers."""
    from sqlalchemy import select

    from twostep.services import approvals
    from twostep.store import approvals as approval_q
    from twostep.store.schema import approval_requests

    def read(tx: object) -> list[tuple[str, str, str]]:
        conn = tx.conn  # type: ignore[attr-defined]
        rows = conn.execute(
            select(approval_requests.c.uuid, approval_requests.c.person_id)
            .where(approval_requests.c.status == "pending")
            .limit(limit)
        ).all()
        found = []
        for request_uuid, person_id in rows:
            row = approval_q.by_uuid(conn, request_uuid)
            digest = approvals.shown_digest(approvals.shown(row))
            found.append((device_uuid(person_id), request_uuid, digest))
        return found

    return rt.run(read, write=False)
