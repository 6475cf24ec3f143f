"""``twostep worker`` and ``twostep outbox``: deliver queued work; inspect what was queued and what
the development provider recorded."""

from __future__ import annotations

import signal
from pathlib import Path

import anyio
import click

from twostep.cli.common import config_option, emit_json, emit_table, json_option, opened_runtime
from twostep.services import jobs
from twostep.services.notify import listen_for_changes
from twostep.services.runtime import Runtime


async def _run_until_signalled(rt: Runtime) -> None:
    from twostep.worker.setup import build_worker

    stop = anyio.Event()

    async def watch_signals() -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                click.echo("stopping after the current jobs…", err=True)
                stop.set()
                return

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch_signals)
        if rt.redis is not None or not rt.db.is_sqlite:
            # jobs queued on API nodes wake this worker at once (NOTIFY or Redis), not at the poll
            tg.start_soon(listen_for_changes, rt)
        async with build_worker(rt) as worker:
            await worker.run(stop)
        tg.cancel_scope.cancel()


@click.command("worker")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Serve Prometheus metrics on this port, at TWOSTEP_HOST (TWOSTEP_WORKER_METRICS_PORT).",
)
@config_option
def worker(metrics_port: int | None, config_file: Path | None) -> None:
    """Deliver outbox jobs (SMS, calls, email, pushes, callbacks, webhooks) until stopped."""
    from contextlib import nullcontext

    from twostep.worker.metrics_http import MetricsServer

    with opened_runtime(config_file) as rt:
        port = metrics_port or rt.settings.worker_metrics_port
        server = MetricsServer(rt, rt.settings.host, port) if port else nullcontext()
        with server:
            if port:
                click.echo(f"metrics on http://{rt.settings.host}:{port}/metrics", err=True)
            click.echo(
                "worker started; Ctrl-C or SIGTERM stops it after the jobs in flight", err=True
            )
            anyio.run(_run_until_signalled, rt)


@click.group("outbox")
def outbox_group() -> None:
    """Queued deliveries, and the messages the development `outbox` provider recorded."""


@outbox_group.command("list")
@click.option("--to", "recipient", default=None, help="Only messages to this number or email.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@json_option
@config_option
def list_messages(
    recipient: str | None, limit: int, as_json: bool, config_file: Path | None
) -> None:
    """Messages recorded by the `outbox` provider, newest first, codes readable."""
    with opened_runtime(config_file) as rt:
        found = rt.run(lambda tx: jobs.dev_messages(tx, recipient, limit), write=False)
    if as_json:
        emit_json([m.as_json() for m in found])
        return
    emit_table(
        ["WHEN", "CHANNEL", "TO", "CODE", "TEXT"],
        [
            [
                m.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                m.channel,
                m.to,
                m.code or "",
                m.body.replace("\n", " ")[:70],
            ]
            for m in found
        ],
    )


@outbox_group.command("jobs")
@click.option("--status", type=click.Choice(["pending", "done", "dead"]), default=None)
@click.option("--kind", default=None, help="sms, voice, email, push, callback or webhook")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@config_option
def list_jobs(
    status: str | None, kind: str | None, limit: int, as_json: bool, config_file: Path | None
) -> None:
    """Outbox jobs, newest first (payloads are never shown)."""
    with opened_runtime(config_file) as rt:
        found = rt.run(
            lambda tx: jobs.list_jobs(tx, status=status, kind=kind, limit=limit), write=False
        )
    if as_json:
        emit_json(found)
        return
    emit_table(
        ["ID", "KIND", "STATUS", "ATTEMPTS", "NEXT", "LAST ERROR"],
        [
            [
                j["id"],
                j["kind"],
                j["status"],
                j["attempts"],
                j["next_attempt_at"][:19],
                (j["last_error"] or "")[:60],
            ]
            for j in found
        ],
    )


@outbox_group.command("retry")
@click.argument("job_id", type=int)
@config_option
def retry(job_id: int, config_file: Path | None) -> None:
    """Put a dead job back in the queue."""
    with opened_runtime(config_file) as rt:
        if not rt.run(lambda tx: jobs.retry_dead(tx, job_id)):
            raise click.ClickException(f"job {job_id} is not dead (or does not exist)")
    click.echo(f"job {job_id} queued again")
