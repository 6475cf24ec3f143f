"""``twostep devices``: list a person's authenticator devices, revoke one for every application."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from twostep.cli.common import config_option, emit_json, emit_table, json_option, opened_runtime
from twostep.errors import NotFound
from twostep.services import devices
from twostep.services.runtime import Tx


@click.group("devices")
def devices_group() -> None:
    """Authenticator devices."""


def _e164(text: str) -> str:
    digits = "".join(c for c in text if c.isdigit())
    return f"+{digits}"


@devices_group.command("list")
@click.option("--phone", help="Only the devices of this number (E.164, e.g. +12015550123).")
@click.option("--authy-id", type=click.IntRange(1), help="Only the devices of this Authy id.")
@json_option
@config_option
def list_devices(
    phone: str | None, authy_id: int | None, as_json: bool, config_file: Path | None
) -> None:
    """List devices (all, or one person's)."""
    if phone and authy_id:
        raise click.UsageError("give --phone or --authy-id, not both")

    def read(tx: Tx) -> list[dict[str, Any]]:
        person = devices.person_for_phone(tx, _e164(phone)) if phone else authy_id
        return devices.admin_list(tx, person)

    with opened_runtime(config_file) as rt:
        try:
            found = rt.run(read, write=False)
        except NotFound:
            raise click.ClickException("no person with this phone number") from None
    if as_json:
        emit_json(found)
        return
    emit_table(
        ["DEVICE_ID", "AUTHY_ID", "STATUS", "OS", "METHOD", "APPS", "NAME", "UUID"],
        [
            [
                d["device_id"],
                d["authy_id"],
                d["status"],
                d["os_type"],
                d["registration_method"],
                ",".join(str(a) for a in d["app_ids"]) or "-",
                d["name"],
                d["device_uuid"],
            ]
            for d in found
        ],
    )


@devices_group.command("revoke")
@click.argument("device_id")
@json_option
@config_option
def revoke(device_id: str, as_json: bool, config_file: Path | None) -> None:
    """Revoke a device (by id or uuid) for every application: its codes and approvals stop working."""
    with opened_runtime(config_file) as rt:
        try:
            device = rt.run(lambda tx: devices.revoke_by_admin(tx, device_id))
        except NotFound:
            raise click.ClickException(f"no device {device_id!r}") from None
    if as_json:
        emit_json(devices.view(device))
        return
    click.echo(f"device {device.id} ({device.name}) revoked")
