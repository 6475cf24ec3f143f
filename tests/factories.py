"""Rows the public API cannot create yet or that tests need directly: authenticator devices with
seeds, and readers for what was queued."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select

from twostep.core import otp
from twostep.services import users
from twostep.services.apps import App
from twostep.services.outbox import open_payload
from twostep.services.runtime import Runtime
from twostep.services.seeds import seed_context
from twostep.store.schema import device_seeds, devices, outbox


def user_with_device(rt: Runtime, app: App) -> tuple[int, int, str]:
    """A user registered in ``app`` with an authenticator device: (authy id, device id, the
    device's token at the runtime clock's time)."""
    person = rt.run(
        lambda tx: users.register(
            tx, app, email="ann@example.com", country_code="1", cellphone="2015550123"
        )
    )
    device_id, seed = add_device(rt, person.authy_id, app.id)
    return person.authy_id, device_id, otp.totp(seed, rt.clock.time(), 10, 7)


def add_device(
    rt: Runtime, person_id: int, app_id: int, *, os_type: str = "android", status: str = "active"
) -> tuple[int, bytes]:
    """An authenticator device of the person with a seed for the app; returns (device id, seed)."""
    seed = otp.random_secret()

    def create(tx: Any) -> int:
        result = tx.conn.execute(
            insert(devices).values(
                person_id=person_id,
                uuid=str(uuid.uuid4()),
                device_type="authy",
                os_type=os_type,
                name="Test phone",
                status=status,
                registration_method="sms",
                created_at=tx.now,
            )
        )
        device_id = int(result.inserted_primary_key[0])
        tx.conn.execute(
            insert(device_seeds).values(
                device_id=device_id,
                app_id=app_id,
                last_step=-1,
                created_at=tx.now,
                seed=tx.keyring.seal(seed, seed_context(device_id, app_id)),
            )
        )
        return device_id

    return rt.run(create), seed


def queued(rt: Runtime, kind: str | None = None) -> list[dict[str, Any]]:
    """Payloads of queued outbox jobs, oldest first."""

    def read(tx: Any) -> list[dict[str, Any]]:
        query = select(outbox).order_by(outbox.c.id)
        if kind:
            query = query.where(outbox.c.kind == kind)
        return [
            {"kind": r.kind, "status": r.status, **open_payload(rt, r.idempotency_key, r.payload)}
            for r in tx.conn.execute(query).all()
            if r.payload
        ]

    return rt.run(read, write=False)


def last_code(rt: Runtime, kind: str = "sms") -> str:
    codes = [p["code"] for p in queued(rt, kind) if p.get("code")]
    assert codes, f"no {kind} code queued"
    return str(codes[-1])
