"""Shared CLI plumbing: settings from options, runtime construction, JSON/table output."""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from twostep.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from twostep.services.runtime import Runtime

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="TOML configuration file (also: TWOSTEP_CONFIG).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def settings_from(config_file: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config_file, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def runtime_from(settings: Settings) -> Runtime:
    from twostep.services.bootstrap import build_runtime  # the server's modules, only when used

    try:
        return build_runtime(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def opened_runtime(config_file: Path | None) -> Iterator[Runtime]:
    """A runtime for one command; its connections are closed when the command ends."""
    rt = runtime_from(settings_from(config_file))
    try:
        yield rt
    finally:
        rt.db.dispose()


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False, default=str))


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def parse_assignments(
    assignments: Sequence[str], known: Collection[str] | None = None
) -> dict[str, str]:
    """KEY=VALUE arguments as a dict; a usage error for anything else or, given ``known``, for
    a key not in it."""
    parsed: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="ASSIGNMENTS")
        if known is not None and key not in known:
            raise click.BadParameter(
                f"unknown setting {key!r}; known: {', '.join(sorted(known))}",
                param_hint="ASSIGNMENTS",
            )
        parsed[key] = value
    return parsed


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)
