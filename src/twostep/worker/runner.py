"""The worker loop: claim due outbox jobs, deliver them concurrently, record each outcome (done,
retry later with backoff, or dead), and run periodic maintenance. Runs as ``twostep worker`` or
inside ``twostep serve`` in embedded mode. Delivery is at least once: a job whose worker dies keeps
its lease only until the lease runs out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import anyio
import anyio.to_thread

from twostep import metrics
from twostep.delivery.base import DeliveryResult
from twostep.services import attempts, health, jobs, maintenance
from twostep.services.jobs import Job
from twostep.services.outbox import OUTBOX_TOPIC
from twostep.services.runtime import Runtime, Tx
from twostep.worker.dispatch import Deliver
from twostep.worker.retry import Backoff

log = logging.getLogger("twostep.worker")

FREQUENT_INTERVAL = 2.0
PERIODIC_INTERVAL = 30.0


class Worker:
    def __init__(self, rt: Runtime, deliver: Deliver) -> None:
        s = rt.settings
        self.rt = rt
        self.deliver = deliver
        self.backoff = Backoff(
            s.outbox_backoff_base_seconds, s.outbox_backoff_max_seconds, s.outbox_max_attempts
        )
        self._wake = anyio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.heartbeat = health.Heartbeat(rt)

    async def run(self, stop: anyio.Event) -> None:
        """Until ``stop``: deliver, maintain, and between batches sleep until jobs are announced
        (this process, or another node through NOTIFY/Redis) or the poll interval passes."""
        self._loop = asyncio.get_running_loop()
        self.rt.notifier.bind(self._loop)
        # (a lambda: the event is replaced after every wake)
        unsubscribe = self.rt.notifier.subscribe(OUTBOX_TOPIC, lambda: self._wake.set())  # noqa: PLW0108
        next_frequent = next_periodic = next_beat = 0.0
        try:
            while not stop.is_set():
                if time.monotonic() >= next_beat:
                    await self._maintain(self.heartbeat.beat)
                    next_beat = time.monotonic() + health.HEARTBEAT_SECONDS
                handled = await self.run_once()
                if time.monotonic() >= next_frequent:
                    await self._maintain(maintenance.frequent)
                    next_frequent = time.monotonic() + FREQUENT_INTERVAL
                if time.monotonic() >= next_periodic:
                    await self._maintain(maintenance.periodic)
                    next_periodic = time.monotonic() + PERIODIC_INTERVAL
                if handled == 0:
                    with anyio.move_on_after(self.rt.settings.outbox_poll_seconds):
                        await self._wake.wait()
                    self._wake = anyio.Event()
        finally:
            unsubscribe()
            with anyio.CancelScope(shield=True):
                await self._maintain(self.heartbeat.stop)

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many jobs were handled."""
        try:
            batch = await anyio.to_thread.run_sync(
                jobs.claim, self.rt, self.rt.settings.outbox_concurrency
            )
        except Exception:
            log.exception("claiming outbox jobs failed; retrying")
            return 0
        async with anyio.create_task_group() as tg:
            for job in batch:
                tg.start_soon(self._handle, job)
        return len(batch)

    async def _handle(self, job: Job) -> None:
        started = time.monotonic()
        try:
            result = await self.deliver(job)
        except Exception as exc:
            log.exception("delivery of job %s (%s) raised", job.id, job.kind)
            result = DeliveryResult(
                ok=False, provider="error", retry=True, detail=type(exc).__name__
            )
        elapsed_ms = int((time.monotonic() - started) * 1000)
        with anyio.CancelScope(shield=True):  # the outcome must be recorded even at shutdown
            try:
                await anyio.to_thread.run_sync(self._record, job, result, elapsed_ms)
            except Exception:
                # The database went away: the job keeps its lease and is delivered again when the
                # lease runs out (at least once, same idempotency key). The loop carries on.
                log.exception("could not record the outcome of job %s; it will be retried", job.id)

    def _record(self, job: Job, result: DeliveryResult, elapsed_ms: int) -> None:
        """The job's new state and the record of this attempt, in one transaction."""
        retry_in: float | None = None
        error = f"{result.provider}: {result.detail}"
        if not result.ok:
            give_up = not result.retry or self.backoff.exhausted(job.attempts)
            retry_in = None if give_up else self.backoff.delay(job.attempts)
            log.warning(
                "job %s (%s) attempt %d failed: %s%s",
                job.id,
                job.kind,
                job.attempts,
                error,
                " — dead" if give_up else f" — retry in {retry_in:.0f}s",
            )

        result_label = "ok" if result.ok else "retry" if retry_in is not None else "dead"
        metrics.delivery(job.kind, result.provider or "none", result_label, elapsed_ms / 1000)

        def outcome(tx: Tx) -> None:
            attempts.record(
                tx,
                job.id,
                job.attempts,
                result.provider or "none",
                result.ok,
                result.detail or None,
                elapsed_ms,
            )
            if result.ok:
                jobs.succeeded(tx, job, result.provider)
            else:
                jobs.failed(tx, job, error, retry_in=retry_in)

        self.rt.run(outcome)

    async def _maintain(self, task: Callable[[Runtime], dict[str, int]]) -> None:
        try:
            done = await anyio.to_thread.run_sync(task, self.rt)
            if any(done.values()):
                log.info("maintenance: %s", ", ".join(f"{k}={v}" for k, v in done.items() if v))
        except Exception:
            log.exception("maintenance failed; retrying later")
