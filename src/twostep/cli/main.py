"""The ``twostep`` command."""

from __future__ import annotations

import logging

import click

from twostep import __version__
from twostep.cli.apps import apps_group
from twostep.cli.db import db_group
from twostep.cli.serve import serve
from twostep.cli.worker import outbox_group, worker


@click.group()
@click.version_option(__version__, prog_name="twostep")
def cli() -> None:
    """TwoStep: a self-hosted two-factor authentication server speaking the Authy API."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


cli.add_command(serve)
cli.add_command(db_group)
cli.add_command(apps_group)
cli.add_command(worker)
cli.add_command(outbox_group)


def main() -> None:
    cli()
