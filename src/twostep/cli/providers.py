"""``twostep providers``: configure the delivery providers (credentials are stored sealed)."""

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
from twostep.delivery.base import ConfigProblem
from twostep.services import providers


@click.group("providers")
def providers_group() -> None:
    """SMS, voice, email and push providers. Which ones a channel uses, in failover order, is set
    by TWOSTEP_SMS_PROVIDERS, TWOSTEP_VOICE_PROVIDERS, TWOSTEP_EMAIL_PROVIDERS and
    TWOSTEP_PUSH_PROVIDERS (JSON lists; default ["outbox"], which records instead of sending)."""


@providers_group.command("list")
@json_option
@config_option
def list_providers(as_json: bool, config_file: Path | None) -> None:
    """Every known provider, its settings and its (censored) configuration."""
    with opened_runtime(config_file) as rt:
        found = rt.run(providers.describe, write=False)
    if as_json:
        emit_json(found)
        return
    emit_table(
        ["PROVIDER", "CHANNELS", "CONFIGURED", "SETTINGS (* = secret)"],
        [
            [
                p["name"],
                ",".join(p["channels"]),
                "yes" if p["configured"] else "no",
                " ".join(f["name"] + ("*" if f["secret"] else "") for f in p["fields"]),
            ]
            for p in found
        ],
    )


@providers_group.command("set")
@click.argument("name")
@click.argument("assignments", nargs=-1, required=True)
@click.option("--replace", is_flag=True, help="Drop settings not given now.")
@config_option
def set_provider(
    name: str, assignments: tuple[str, ...], replace: bool, config_file: Path | None
) -> None:
    """Set provider settings: KEY=VALUE ... (secrets are stored encrypted, never printed)."""
    changes = parse_assignments(assignments)
    with opened_runtime(config_file) as rt:
        try:
            shown = rt.run(lambda tx: providers.configure(tx, name, changes, replace=replace))
        except ConfigProblem as exc:
            raise click.ClickException(str(exc)) from None
    for key, value in shown.items():
        click.echo(f"{key} = {value}")


@providers_group.command("delete")
@click.argument("name")
@config_option
def delete_provider(name: str, config_file: Path | None) -> None:
    """Forget a provider's configuration."""
    with opened_runtime(config_file) as rt:
        if not rt.run(lambda tx: providers.remove(tx, name)):
            raise click.ClickException(f"{name} has no stored configuration")
    click.echo(f"{name}: configuration deleted")
