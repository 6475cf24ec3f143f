"""The ``twostep`` command."""

from __future__ import annotations

import logging
import os

import click

from twostep import __version__
from twostep.cli.apps import apps_group
from twostep.cli.authenticator import authenticator_group
from twostep.cli.db import db_group
from twostep.cli.devices import devices_group
from twostep.cli.providers import providers_group
from twostep.cli.serve import serve
from twostep.cli.worker import outbox_group, worker
from twostep.logs import configure_logging


@click.group()
@click.version_option(__version__, prog_name="twostep")
def cli() -> None:
    """TwoStep: a self-hosted two-factor authentication server speaking the Authy API."""
    production = os.environ.get("TWOSTEP_MODE", "embedded") == "production"
    level = getattr(logging, os.environ.get("TWOSTEP_LOG_LEVEL", "INFO").upper(), logging.INFO)
    configure_logging(json_lines=production, level=level)


cli.add_command(serve)
cli.add_command(db_group)
cli.add_command(apps_group)
cli.add_command(worker)
cli.add_command(outbox_group)
cli.add_command(devices_group)
cli.add_command(providers_group)
cli.add_command(authenticator_group)


def main() -> None:
    cli()
