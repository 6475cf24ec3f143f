"""``twostep db``: schema migrations."""

from __future__ import annotations

from pathlib import Path

import click

from twostep.cli.common import config_option, settings_from
from twostep.services.bootstrap import master_key, open_database
from twostep.services.keys import load_keyring
from twostep.store import migrate


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@config_option
def upgrade(revision: str, config_file: Path | None) -> None:
    """Apply migrations (and create the first data keys if the database is new)."""
    settings = settings_from(config_file)
    db = open_database(settings)
    try:
        migrate.upgrade(db.engine, revision)
        if revision == "head":
            load_keyring(db, master_key(settings))
        click.echo(f"database at revision {migrate.current_revision(db.engine)}")
    finally:
        db.dispose()


@db_group.command("check")
@config_option
def check(config_file: Path | None) -> None:
    """Exit non-zero unless the schema is at the latest revision and matches the code."""
    db = open_database(settings_from(config_file))
    try:
        migrate.check(db.engine)
    except migrate.SchemaNotCurrent as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.dispose()
    click.echo(f"database schema is current ({migrate.head_revision()})")


@db_group.command("current")
@config_option
def current(config_file: Path | None) -> None:
    """Print the database's revision and the code's latest revision."""
    db = open_database(settings_from(config_file))
    try:
        click.echo(f"database: {migrate.current_revision(db.engine)}")
        click.echo(f"code:     {migrate.head_revision()}")
    finally:
        db.dispose()
