"""From an outbox job to a delivery: the development sink, the configured providers of each
channel (with failover), OneTouch callbacks and webhooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio.to_thread

from twostep.delivery.base import DeliveryResult
from twostep.services import approvals, jobs
from twostep.services.jobs import Job
from twostep.services.runtime import Runtime

Deliver = Callable[[Job], Awaitable[DeliveryResult]]
MESSAGE_KINDS = ("sms", "voice", "email", "push")
DEV_PROVIDER = "outbox"


class Dispatcher:
    """Calls the right sender for a job. ``handlers`` maps other job kinds (callback, webhook) to
    their delivery functions; ``channels`` maps a message kind to its provider route."""

    def __init__(
        self,
        rt: Runtime,
        channels: dict[str, Deliver] | None = None,
        handlers: dict[str, Deliver] | None = None,
    ) -> None:
        self.rt = rt
        self.channels = channels or {}
        self.handlers = handlers or {}

    def _dev_only(self, kind: str) -> bool:
        s = self.rt.settings
        names = {
            "sms": s.sms_providers,
            "voice": s.voice_providers,
            "email": s.email_providers,
            "push": s.push_providers,
        }[kind]
        return names == [DEV_PROVIDER] or kind not in self.channels

    async def __call__(self, job: Job) -> DeliveryResult:
        if job.kind in MESSAGE_KINDS:
            # Sandbox applications never reach a real provider.
            if job.payload.get("sandbox") or self._dev_only(job.kind):
                await anyio.to_thread.run_sync(
                    lambda: self.rt.run(lambda tx: jobs.record_dev_message(tx, job, job.kind))
                )
                return DeliveryResult(ok=True, provider=DEV_PROVIDER)
            result = await self.channels[job.kind](job)
            if result.ok and job.kind == "push" and job.payload.get("approval_uuid"):
                uuid = str(job.payload["approval_uuid"])
                await anyio.to_thread.run_sync(
                    lambda: self.rt.run(lambda tx: approvals.mark_notified(tx, uuid))
                )
            return result
        handler = self.handlers.get(job.kind)
        if handler is None:
            return DeliveryResult(
                ok=False, provider="none", retry=False, detail=f"no handler for {job.kind}"
            )
        return await handler(job)
