"""Readiness, worker heartbeats and the metrics computed from the database.

Readiness (``GET /readyz``): the database answers, its schema is one this release runs on, and a
worker is alive. Who must be alive depends on the process: a ``serve`` that runs the outbox worker
in-process is ready only while *its own* worker beats; an API node without one reports a missing
worker fleet as ``degraded`` and stays ready (HTTP 200), so that a worker outage does not take every
API node out of the load balancer (alert on ``twostep_worker_heartbeat_age_seconds`` instead)."""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, text

from twostep.services.runtime import Runtime, Tx
from twostep.store import heartbeats as q
from twostep.store import migrate
from twostep.store import outbox as outbox_q

log = logging.getLogger("twostep.health")

HEARTBEAT_SECONDS = 5.0  # how often a worker records that it is alive
HEARTBEAT_STALE = timedelta(seconds=60)  # a worker silent this long counts as gone
HEARTBEAT_HISTORY = timedelta(hours=1)  # rows of workers that died without cleaning up
READY_TIMEOUT = 2.0  # seconds for the whole readiness check
_MAX_CHECKS = 4  # readiness checks in flight per process (a hung database must not pile them up)
_checks = threading.BoundedSemaphore(_MAX_CHECKS)


def worker_name() -> str:
    """This process's heartbeat name (``host:pid``, at most the column's 128 characters)."""
    pid = f":{os.getpid()}"
    return socket.gethostname()[: 128 - len(pid)] + pid


class Heartbeat:
    """The heartbeat of one worker loop; both methods run in a worker thread."""

    def __init__(self, rt: Runtime) -> None:
        self.name = worker_name()
        self.started_at = rt.clock.now()

    def beat(self, rt: Runtime) -> dict[str, int]:
        rt.run(lambda tx: q.beat(tx.conn, self.name, now=tx.now, started_at=self.started_at))
        return {}

    def stop(self, rt: Runtime) -> dict[str, int]:
        rt.run(lambda tx: q.remove(tx.conn, self.name))
        return {}


def prune_heartbeats(tx: Tx) -> int:
    return q.prune(tx.conn, tx.now - HEARTBEAT_HISTORY)


# --- readiness ------------------------------------------------------------------------------------


@functools.cache
def _revisions() -> tuple[str, frozenset[str]]:
    return migrate.head_revision(), frozenset(migrate.known_revisions())


def schema_state(revision: str | None) -> str:
    """``ok`` at this release's head; ``newer`` for a revision this release does not know (a later
    release's expand migration: compatible by the expand/contract rule); ``outdated`` for an older
    revision of ours and ``missing`` without one: run ``twostep db upgrade``."""
    head, known = _revisions()
    if revision is None:
        return "missing"
    if revision == head:
        return "ok"
    return "outdated" if revision in known else "newer"


@dataclass
class Readiness:
    checks: dict[str, str] = field(
        default_factory=lambda: {"database": "unknown", "schema": "unknown", "worker": "unknown"}
    )
    details: dict[str, Any] = field(default_factory=dict)
    worker_required: bool = False

    @property
    def status(self) -> str:
        c = self.checks
        if c["database"] != "ok" or c["schema"] not in ("ok", "newer"):
            return "not ready"
        if c["worker"] != "ok":
            return "not ready" if self.worker_required else "degraded"
        return "ready"

    @property
    def ready(self) -> bool:
        return self.status != "not ready"

    def body(self) -> dict[str, Any]:
        return {"status": self.status, "checks": self.checks, **self.details}


def _revision(conn: Connection) -> str | None:
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    return str(rows[0][0]) if len(rows) == 1 else None


def readiness(rt: Runtime, *, own_worker: bool) -> Readiness:
    """Blocking: run it in a worker thread, under a timeout (``READY_TIMEOUT``)."""
    report = Readiness(worker_required=own_worker)
    if not _checks.acquire(blocking=False):
        report.checks["database"] = "busy"  # earlier checks are still waiting for the database
        return report
    try:
        with rt.db.transaction(write=False) as conn:
            _check(rt, conn, report)
    except Exception as exc:  # noqa: BLE001 - any failure is "not ready", reported without detail
        if report.checks["database"] != "ok":
            report.checks["database"] = "unavailable"
            log.warning("readiness: the database did not answer (%s)", type(exc).__name__)
        elif report.checks["schema"] == "unknown":
            report.checks["schema"] = "missing"  # no alembic_version table
    finally:
        _checks.release()
    return report


def _check(rt: Runtime, conn: Connection, report: Readiness) -> None:
    """Each step fills its check; a step that raises leaves the rest ``unknown``."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SET LOCAL statement_timeout = {int(READY_TIMEOUT * 1000)}"))
    conn.execute(text("SELECT 1"))
    report.checks["database"] = "ok"
    revision = _revision(conn)
    report.checks["schema"] = schema_state(revision)
    report.details["schema_revision"] = revision
    now = rt.clock.now()
    if report.worker_required:
        at = q.last_beat(conn, worker_name())
        workers = 1 if at is not None and at >= now - HEARTBEAT_STALE else 0
    else:
        workers, _latest = q.fresh(conn, now - HEARTBEAT_STALE)
    report.details["workers"] = workers
    report.checks["worker"] = "ok" if workers else "missing"


def timed_out(*, own_worker: bool) -> Readiness:
    report = Readiness(worker_required=own_worker)
    report.checks["database"] = "timeout"
    return report


# --- metrics computed from the database at scrape time ---------------------------------------------


def _aware(value: Any) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


class OutboxCollector(Collector):
    """Gauges of the outbox and of the workers' heartbeats, from two small queries per scrape
    (blocking: scrape off the event loop)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("twostep_database_up", "Whether the metrics queries succeeded.")
        try:
            stats, workers, latest, now = self.rt.run(self._query, write=False)
        except Exception as exc:  # noqa: BLE001 - a failed query must not fail the scrape
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        pending = GaugeMetricFamily(
            "twostep_outbox_pending", "Outbox jobs waiting for delivery.", labels=["kind"]
        )
        age = GaugeMetricFamily(
            "twostep_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending job (since it was queued; retries keep ageing).",
            labels=["kind"],
        )
        overdue = GaugeMetricFamily(
            "twostep_outbox_overdue_seconds",
            "How long the most overdue pending job has been due (workers not keeping up).",
            labels=["kind"],
        )
        dead = GaugeMetricFamily(
            "twostep_outbox_dead",
            "Jobs that failed for good (requeue: twostep outbox retry).",
            labels=["kind"],
        )
        for kind, status, count, oldest, due in stats:
            if status == outbox_q.DEAD:
                dead.add_metric([kind], count)
                continue
            pending.add_metric([kind], count)
            created, next_due = _aware(oldest), _aware(due)
            age.add_metric([kind], (now - created).total_seconds() if created else 0.0)
            late = (now - next_due).total_seconds() if next_due else 0.0
            overdue.add_metric([kind], max(0.0, late))
        yield from (pending, age, overdue, dead)
        alive = GaugeMetricFamily(
            "twostep_workers_alive", "Workers whose heartbeat is recent (within 60 s)."
        )
        alive.add_metric([], workers)
        yield alive
        if latest is not None:
            beat_age = GaugeMetricFamily(
                "twostep_worker_heartbeat_age_seconds", "Time since any worker's last heartbeat."
            )
            beat_age.add_metric([], max(0.0, (now - latest).total_seconds()))
            yield beat_age

    @staticmethod
    def _query(tx: Tx) -> tuple[list[Any], int, datetime | None, datetime]:
        if tx.conn.dialect.name == "postgresql":  # a slow database must not pile up scrapes
            tx.conn.execute(text(f"SET LOCAL statement_timeout = {int(READY_TIMEOUT * 1000)}"))
        stats = outbox_q.stats_by_kind(tx.conn)
        workers, latest = q.fresh(tx.conn, tx.now - HEARTBEAT_STALE)
        return stats, workers, _aware(latest), tx.now
