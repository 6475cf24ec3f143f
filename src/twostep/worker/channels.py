"""Outbox message jobs turned into provider calls, one adapter per channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from twostep.delivery.base import (
    DeliveryResult,
    EmailMessage,
    PushMessage,
    SmsMessage,
    VoiceMessage,
)
from twostep.delivery.router import Route
from twostep.services.jobs import Job

Deliver = Callable[[Job], Awaitable[DeliveryResult]]


def adapter(channel: str, route: Route) -> Deliver:
    async def sms(job: Job) -> DeliveryResult:
        p = job.payload
        return await route.send_sms(SmsMessage(p["to"], p["body"], job.idempotency_key))

    async def voice(job: Job) -> DeliveryResult:
        p = job.payload
        message = VoiceMessage(p["to"], p["text"], p.get("language") or "en", job.idempotency_key)
        return await route.call(message)

    async def email(job: Job) -> DeliveryResult:
        p = job.payload
        message = EmailMessage(p["to"], p["subject"], p["body"], job.idempotency_key)
        return await route.send_email(message)

    async def push(job: Job) -> DeliveryResult:
        p = job.payload
        message = PushMessage(
            p["address"], p["title"], p["body"], dict(p.get("data") or {}), job.idempotency_key
        )
        return await route.push(message)

    return {"sms": sms, "voice": voice, "email": email, "push": push}[channel]
