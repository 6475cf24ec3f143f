"""Sending webhook events (spec §6): a POST whose form parameter ``body`` is a JWT (HS256, signed
with the webhook's own ``WSK_…`` signing key) carrying the event record. Same URL safety, pinning,
retry rules and idempotency key as OneTouch callbacks (see ``worker.outbound``)."""

from __future__ import annotations

from urllib.parse import urlencode

import anyio.to_thread
import httpx
import jwt

from twostep import __version__
from twostep.delivery import urlsafety
from twostep.delivery.base import DeliveryResult
from twostep.services import webhooks
from twostep.services.jobs import Job
from twostep.services.runtime import Runtime
from twostep.worker import outbound
from twostep.worker.dispatch import Deliver

PROVIDER = "webhook"
USER_AGENT = f"TwoStep/{__version__} (webhooks)"


def token(record: dict[str, object], signing_key: str, job: Job, issued_at: int) -> str:
    """The JWT: the event record plus when it was issued and the job's idempotency key (a
    receiver seeing the same ``jti`` twice got a retry of one delivery)."""
    claims = {**record, "iat": issued_at, "jti": job.idempotency_key}
    return jwt.encode(claims, signing_key, algorithm="HS256")


def make_webhook_handler(
    rt: Runtime, http: httpx.AsyncClient, *, sender: urlsafety.PinnedSender | None = None
) -> Deliver:
    """The delivery function for ``webhook`` jobs (``http`` unused, as for callbacks: see
    ``delivery.urlsafety.PinnedSender``)."""
    del http
    pinned = sender or urlsafety.PinnedSender()
    rules = outbound.policy(rt.settings)
    seconds = rt.settings.callback_timeout_seconds

    async def attempt(job: Job) -> DeliveryResult:
        webhook_id = job.payload.get("webhook_id")
        record = job.payload.get("record")
        if not isinstance(webhook_id, int) or not isinstance(record, dict):
            return outbound.failed(PROVIDER, "malformed webhook job", retry=False)
        found = await anyio.to_thread.run_sync(
            lambda: rt.run(lambda tx: webhooks.target(tx, webhook_id), write=False)
        )
        if found is None:
            return outbound.failed(PROVIDER, "the webhook was deleted", retry=False)
        target = await outbound.checked(PROVIDER, found.url, rules, seconds)
        body = urlencode({"body": token(record, found.signing_key, job, int(rt.clock.time()))})
        headers = {
            "User-Agent": USER_AGENT,
            "Content-Type": "application/x-www-form-urlencoded",
            "Idempotency-Key": job.idempotency_key,
        }
        return await outbound.send(
            PROVIDER,
            pinned,
            target,
            "POST",
            headers=headers,
            content=body.encode(),
            seconds=seconds,
        )

    return outbound.guarded(attempt)
