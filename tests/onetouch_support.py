"""A device with a real Ed25519 key, registered directly in the database, that answers approval
requests through the approvals service (the device HTTP API has its own tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from tests.factories import add_device
from twostep.core import signing
from twostep.services import approvals
from twostep.services.device_model import Device
from twostep.services.runtime import Runtime
from twostep.store.schema import devices


@dataclass
class KeyedDevice:
    id: int
    key: Ed25519PrivateKey
    seed: bytes

    def model(self, rt: Runtime) -> Device:
        return rt.run(
            lambda tx: Device.from_row(
                tx.conn.execute(select(devices).where(devices.c.id == self.id)).one()
            ),
            write=False,
        )


def keyed_device(
    rt: Runtime, person_id: int, app_id: int, *, push: str | None = None, os_type: str = "android"
) -> KeyedDevice:
    device_id, seed = add_device(rt, person_id, app_id, os_type=os_type)
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )

    def store(tx: Any) -> None:
        sealed = tx.keyring.seal(push.encode(), f"devices:push:{device_id}") if push else None
        tx.conn.execute(
            update(devices)
            .where(devices.c.id == device_id)
            .values(public_key=public, push_address=sealed)
        )

    rt.run(store)
    return KeyedDevice(device_id, key, seed)


def answer(
    rt: Runtime,
    device: KeyedDevice,
    uuid: str,
    status: str,
    *,
    number: str | None = None,
    signed_at: int | None = None,
    tamper: bool = False,
) -> approvals.Approval:
    model = device.model(rt)
    when = int(rt.clock.time()) if signed_at is None else signed_at
    shown = rt.run(lambda tx: approvals.pending_for_device(tx, model), write=False)
    digest = next((r["shown_digest"] for r in shown if r["uuid"] == uuid), "0" * 64)
    statement = signing.approval_statement(uuid, "denied" if tamper else status, when, digest)
    return rt.run(
        lambda tx: approvals.answer(
            tx,
            model,
            uuid,
            status=status,
            signed_at=when,
            number=number,
            signature=device.key.sign(statement),
        )
    )
