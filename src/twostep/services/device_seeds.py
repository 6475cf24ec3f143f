"""Authenticator seeds: one per device per application (TOTP, HMAC-SHA1, 7 digits, 10 s), sealed
at rest with the device and application as associated data, and the accounts a device syncs.

Only devices enrolled by phone (they proved control of the number that identifies the person) get
seeds for every application of the person, including applications the person joins later. A device
enrolled by an application's link is vouched for by that application alone and serves only it: one
application must not be able to hand out codes valid in another."""

from __future__ import annotations

from typing import Any

from twostep.core import otp
from twostep.services.runtime import Tx
from twostep.services.seeds import DEVICE_TOKEN, seed_context
from twostep.store import devices as q

ALGORITHM = "SHA1"
PHONE_METHODS = ("sms", "call")


def serves_every_app(registration_method: str | None) -> bool:
    return registration_method in PHONE_METHODS


def create(tx: Tx, device_id: int, app_id: int) -> bool:
    """A fresh seed for the device in the application, unless it has (or had) one."""
    sealed = tx.keyring.seal(otp.random_secret(), seed_context(device_id, app_id))
    return q.insert_seed(tx.conn, device_id=device_id, app_id=app_id, seed=sealed, now=tx.now)


def seed_device(tx: Tx, device_id: int, person_id: int, method: str, app_id: int | None) -> None:
    """Seeds for a device that just became active: every current registration of the person for a
    phone-enrolled device, only the vouching application for a link-enrolled one."""
    if serves_every_app(method):
        for registered in q.registered_app_ids(tx.conn, person_id):
            create(tx, device_id, registered)
    elif app_id is not None:
        create(tx, device_id, app_id)


def ensure_seeds(tx: Tx, app_id: int, person_id: int) -> int:
    """Give the person's active phone-enrolled devices a seed for ``app_id`` (called when the person
    registers in an application); returns how many were created."""
    missing = q.devices_missing_seed(tx.conn, person_id, app_id, PHONE_METHODS)
    return sum(create(tx, device_id, app_id) for device_id in missing)


def accounts(tx: Tx, device_id: int) -> list[dict[str, Any]]:
    """The device's accounts (§5 account shape), with the seeds in base32."""
    found = []
    for row in q.live_seeds(tx.conn, device_id):
        seed = tx.keyring.open(row.seed, seed_context(device_id, row.app_id))
        found.append(
            {
                "app_id": row.app_id,
                "app_name": row.app_name,
                "authy_id": row.person_id,
                "seed": otp.base32_secret(seed),
                "digits": DEVICE_TOKEN.digits,
                "period": DEVICE_TOKEN.step,
                "algorithm": ALGORITHM,
            }
        )
    return found
