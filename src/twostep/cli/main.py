"""The ``twostep`` command. Subcommands are imported when used: the server's modules (SQLAlchemy,
Alembic, the services) take a second to import, which the authenticator should not pay."""

from __future__ import annotations

import importlib
import logging
import os

import click

from twostep import __version__
from twostep.logs import configure_logging

COMMANDS = {
    "serve": "twostep.cli.serve:serve",
    "worker": "twostep.cli.worker:worker",
    "db": "twostep.cli.db:db_group",
    "apps": "twostep.cli.apps:apps_group",
    "outbox": "twostep.cli.worker:outbox_group",
    "devices": "twostep.cli.devices:devices_group",
    "providers": "twostep.cli.providers:providers_group",
    "authenticator": "twostep.cli.authenticator:authenticator_group",
}
SUMMARIES = {
    "serve": "Serve the API.",
    "worker": "Deliver outbox jobs until stopped.",
    "db": "Database schema.",
    "apps": "Applications and their API keys.",
    "outbox": "Queued deliveries and what the development provider recorded.",
    "devices": "Authenticator devices.",
    "providers": "SMS, voice, email and push providers.",
    "authenticator": "The reference authenticator (a device on this computer).",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, SUMMARIES[name]) for name in sorted(COMMANDS)])


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="twostep")
def cli() -> None:
    """TwoStep: a self-hosted two-factor authentication server speaking the Authy API."""
    production = os.environ.get("TWOSTEP_MODE", "embedded") == "production"
    level = getattr(logging, os.environ.get("TWOSTEP_LOG_LEVEL", "INFO").upper(), logging.INFO)
    configure_logging(json_lines=production, level=level)


def main() -> None:
    cli()
