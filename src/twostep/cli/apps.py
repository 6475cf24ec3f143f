"""``twostep apps``: create applications, list them, rotate keys, change settings."""

from __future__ import annotations

from pathlib import Path

import click

from twostep.cli.common import (
    config_option,
    emit_json,
    emit_table,
    json_option,
    opened_runtime,
    parse_assignments,
)
from twostep.errors import NotFound
from twostep.services import apps, webhooks
from twostep.services.apps import SETTING_NAMES, SettingError
from twostep.services.runtime import Tx


@click.group("apps")
def apps_group() -> None:
    """Applications and their API keys."""


@apps_group.command("create")
@click.argument("name")
@click.option("--sandbox", is_flag=True, help="Reproduce the old Authy sandbox's fixed answers.")
@json_option
@config_option
def create(name: str, sandbox: bool, as_json: bool, config_file: Path | None) -> None:
    """Create an application and print its id and API key (shown only this once)."""
    with opened_runtime(config_file) as rt:
        try:
            app, key = rt.run(lambda tx: apps.create(tx, name, sandbox=sandbox))
        except SettingError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        emit_json({**apps.describe(app), "api_key": key})
        return
    click.echo(f"app_id:  {app.id}")
    click.echo(f"name:    {app.name}")
    click.echo(f"api_key: {key}")
    click.echo("Store the API key now: it is kept only as a hash and cannot be shown again.")


@apps_group.command("list")
@json_option
@config_option
def list_apps(as_json: bool, config_file: Path | None) -> None:
    """List applications."""
    with opened_runtime(config_file) as rt:
        found = rt.run(apps.list_all, write=False)
    if as_json:
        emit_json([apps.describe(a) for a in found])
        return
    emit_table(
        ["APP_ID", "NAME", "PLAN", "SANDBOX", "CREATED"],
        [
            [a.id, a.name, a.settings.plan, a.settings.sandbox, a.created_at.isoformat()]
            for a in found
        ],
    )


@apps_group.command("show")
@click.argument("app")
@json_option
@config_option
def show(app: str, as_json: bool, config_file: Path | None) -> None:
    """Show one application's settings (by id or name)."""
    with opened_runtime(config_file) as rt:
        try:
            found = rt.run(lambda tx: apps.find(tx, app), write=False)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from None
    described = apps.describe(found)
    if as_json:
        emit_json(described)
        return
    emit_table(["SETTING", "VALUE"], [[k, v] for k, v in described.items()])


@apps_group.command("rotate-key")
@click.argument("app")
@click.option(
    "--grace",
    default=0,
    show_default=True,
    type=click.IntRange(0, 30 * 86400),
    help="Seconds the old key keeps working.",
)
@json_option
@config_option
def rotate_key(app: str, grace: int, as_json: bool, config_file: Path | None) -> None:
    """Issue a new API key; the old one stops working after --grace seconds."""
    with opened_runtime(config_file) as rt:
        try:
            found, key = rt.run(lambda tx: _rotate(tx, app, grace))
        except NotFound as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        emit_json({"app_id": found.id, "api_key": key, "old_key_valid_for_seconds": grace})
        return
    click.echo(f"app_id:  {found.id}")
    click.echo(f"api_key: {key}")
    click.echo(f"The previous key {'stops working now' if not grace else f'works {grace}s more'}.")


def _rotate(tx: Tx, ident: str, grace: int) -> tuple[apps.App, str]:
    found = apps.find(tx, ident)
    return found, apps.rotate_key(tx, found, grace_seconds=grace)


@apps_group.command("set")
@click.argument("app")
@click.argument("assignments", nargs=-1, required=True)
@json_option
@config_option
def set_settings(
    app: str, assignments: tuple[str, ...], as_json: bool, config_file: Path | None
) -> None:
    """Change settings: KEY=VALUE ... Keys: see `twostep apps show APP`."""
    changes = parse_assignments(assignments, SETTING_NAMES)
    with opened_runtime(config_file) as rt:
        try:
            updated = rt.run(lambda tx: apps.update_settings(tx, apps.find(tx, app), changes))
        except (NotFound, SettingError) as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        emit_json(apps.describe(updated))
    else:
        for key in changes:
            click.echo(f"{key} = {apps.describe(updated)[key if key != 'name' else 'name']}")


@apps_group.command("keys")
@click.argument("app")
@click.option(
    "--rotate",
    type=click.Choice(["access_key", "signing_key"]),
    default=None,
    help="Replace one of the two keys first.",
)
@json_option
@config_option
def dashboard_keys(app: str, rotate: str | None, as_json: bool, config_file: Path | None) -> None:
    """Show the access key and API signing key of the webhooks API (created on first use)."""
    with opened_runtime(config_file) as rt:

        def unit(tx: Tx) -> webhooks.DashboardKeys:
            found = apps.find(tx, app)
            return webhooks.rotate(tx, found, rotate) if rotate else webhooks.keys(tx, found)

        try:
            keys = rt.run(unit)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        emit_json({"access_key": keys.access_key, "signing_key": keys.signing_key})
        return
    click.echo(f"access_key:  {keys.access_key}")
    click.echo(f"signing_key: {keys.signing_key}")
