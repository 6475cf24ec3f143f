"""``twostep serve``: the HTTP API (and, in embedded mode, the outbox worker in the same process)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import click
import uvicorn

from twostep import __version__, metrics
from twostep.cli.common import config_option, settings_from
from twostep.config import ConfigError, Settings
from twostep.services.bootstrap import build_runtime, first_run_info


def masked_url(url: str) -> str:
    """The database URL without its password (the banner is printed to logs)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def usable_cpus() -> int:
    """The CPUs this process may use: its affinity set, capped by a cgroup (container) quota."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count or 1, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count or 1)


def _exit_cleanly_on_signals() -> None:
    """Make a finished graceful shutdown exit 0. uvicorn restores the handlers it found and then
    re-raises the signal that stopped it; with the default handler that kills the process (-15)
    after the shutdown already succeeded. These handlers end the process normally instead (and
    before uvicorn starts, a signal simply exits)."""

    def finish(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)


def _banner(settings: Settings, workers: int) -> None:
    info = first_run_info(settings)
    click.echo(f"TwoStep {__version__} — {settings.mode} mode, {workers} process(es)")
    if settings.embedded and not settings.database_url:
        click.echo(f"  data directory: {info.data_dir}")
    click.echo(f"  database:       {masked_url(info.database_url)}")
    if info.master_key_file:
        click.echo(
            f"  master key:     {info.master_key_file}  (back it up: without it the "
            "encrypted secrets are lost)"
        )
    if info.admin_token_file:
        click.echo(f"  admin token:    {info.admin_token_file}")
    click.echo(f"  API:            {settings.resolved_public_url}")
    click.echo("Create an application and its API key with:")
    click.echo('  .venv/bin/twostep apps create "My App"')


@click.command("serve")
@click.option("--host", default=None, help="Interface to listen on (TWOSTEP_HOST).")
@click.option("--port", default=None, type=int, help="Port (TWOSTEP_PORT).")
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(0, 256),
    help="Server processes; default 1 embedded, one per core in production.",
)
@click.option(
    "--worker/--no-worker",
    "run_worker",
    default=None,
    help="Run the outbox worker in this process (default: in embedded mode).",
)
@config_option
def serve(
    host: str | None,
    port: int | None,
    workers: int | None,
    run_worker: bool | None,
    config_file: Path | None,
) -> None:
    """Serve the API."""
    settings = settings_from(
        config_file, host=host, port=port, workers=workers, run_worker=run_worker
    )
    processes = settings.workers or (1 if settings.embedded else usable_cpus())
    try:
        runtime = build_runtime(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    _banner(settings, processes)
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        "log_level": "warning",
        "timeout_graceful_shutdown": 30,
        "lifespan": "on",
    }
    if processes == 1:
        from twostep.api.app import create_app
        from twostep.worker.embedded import background_tasks

        if metrics.multiprocess():  # PROMETHEUS_MULTIPROC_DIR set: drop an earlier run's files
            metrics.prepare_multiprocess_dir()
        _exit_cleanly_on_signals()
        uvicorn.run(create_app(runtime, background=background_tasks(settings)), **common)
        return
    runtime.db.dispose()
    # Every process records its metrics in a shared directory, read by whichever answers a scrape.
    cleanup = metrics.prepare_multiprocess_dir() if settings.metrics_enabled else lambda: None
    # Child processes rebuild settings from the environment: pass the command-line overrides on.
    os.environ["TWOSTEP_HOST"] = settings.host
    os.environ["TWOSTEP_PORT"] = str(settings.port)
    if config_file is not None:
        os.environ["TWOSTEP_CONFIG"] = str(config_file)
    if settings.run_worker is not None:
        os.environ["TWOSTEP_RUN_WORKER"] = "true" if settings.run_worker else "false"
    try:
        uvicorn.run(
            "twostep.api.factory:create_from_env", factory=True, workers=processes, **common
        )
    finally:
        cleanup()
