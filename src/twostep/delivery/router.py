"""Failover across the providers configured for one channel: try each in order until one delivers.

A failure with ``retry=False`` stops the walk: it says the message or the recipient is at fault
(an invalid number, an uninstalled app), which no other provider would change. Push picks its
providers by the address scheme instead: an ``fcm:`` token means nothing to APNs.

Results leave here scrubbed: every configured secret value is blotted out of the detail, whatever
a provider (or a provider's bug) put there."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TypeVar, cast

import httpx

from twostep.delivery import _http
from twostep.delivery.base import (
    ConfigProblem,
    DeliveryResult,
    EmailMessage,
    EmailSender,
    ProviderSpec,
    PushMessage,
    PushSender,
    SmsMessage,
    SmsSender,
    VoiceCaller,
    VoiceMessage,
)

log = logging.getLogger(__name__)
CHANNELS = ("sms", "voice", "email", "push")
P = TypeVar("P")


def safe_result(result: DeliveryResult, secrets: Iterable[str]) -> DeliveryResult:
    """The result with a bounded one-line detail in which no secret value appears."""
    detail = _http.clean(result.detail, secrets)
    if detail == result.detail:
        return result
    return DeliveryResult(ok=result.ok, provider=result.provider, retry=result.retry, detail=detail)


async def failover(
    providers: Sequence[P],
    attempt: Callable[[P], Awaitable[DeliveryResult]],
    secrets: Iterable[str] = (),
) -> DeliveryResult:
    """Each provider in order until one delivers or one says retrying is pointless; the last
    result. A provider that raises (a bug: they are meant to return results) counts as a
    retryable failure, so one broken plugin cannot take a channel down."""
    secrets = tuple(secrets)
    result = DeliveryResult(ok=False, provider="", retry=False, detail="no provider configured")
    for provider in providers:
        try:
            result = await attempt(provider)
        except Exception as exc:
            name = str(getattr(provider, "name", type(provider).__name__))
            log.exception("delivery provider %s raised", name)
            result = DeliveryResult(
                ok=False, provider=name, retry=True, detail=f"error ({type(exc).__name__})"
            )
        result = safe_result(result, secrets)
        if result.ok or not result.retry:
            return result
        log.info(
            "delivery by %s failed (%s), trying the next provider", result.provider, result.detail
        )
    return result


def address_scheme(address: str) -> str:
    return address.partition(":")[0].lower()


class Route:
    """One channel's providers in failover order, and the secrets their results must not carry."""

    def __init__(self, channel: str, providers: Sequence[object], secrets: Iterable[str] = ()):
        if channel not in CHANNELS:
            raise ConfigProblem(f"unknown delivery channel {channel!r}")
        self.channel = channel
        self.providers = tuple(providers)
        self.secrets = frozenset(s for s in secrets if s)

    @classmethod
    def build(
        cls,
        channel: str,
        configured: Sequence[tuple[ProviderSpec, Mapping[str, str]]],
        http: httpx.AsyncClient,
    ) -> Route:
        """Validate each provider's configuration and build it, in the given order."""
        providers: list[object] = []
        secrets: set[str] = set()
        for spec, config in configured:
            if channel not in spec.channels:
                raise ConfigProblem(f"{spec.name} does not deliver {channel}")
            values = spec.validate(config)
            providers.append(spec.factory(values, http))
            secrets.update(values[name] for name in spec.secret_fields)
        return cls(channel, providers, secrets)

    def _for(self, channel: str) -> tuple[object, ...]:
        """The providers, once sure they serve ``channel`` (Route.build checked their specs)."""
        if channel != self.channel:
            raise TypeError(f"this route delivers {self.channel}, not {channel}")
        return self.providers

    async def send_sms(self, message: SmsMessage) -> DeliveryResult:
        providers = cast("tuple[SmsSender, ...]", self._for("sms"))
        return await failover(providers, lambda p: p.send_sms(message), self.secrets)

    async def call(self, message: VoiceMessage) -> DeliveryResult:
        providers = cast("tuple[VoiceCaller, ...]", self._for("voice"))
        return await failover(providers, lambda p: p.call(message), self.secrets)

    async def send_email(self, message: EmailMessage) -> DeliveryResult:
        providers = cast("tuple[EmailSender, ...]", self._for("email"))
        return await failover(providers, lambda p: p.send_email(message), self.secrets)

    async def push(self, message: PushMessage) -> DeliveryResult:
        scheme = address_scheme(message.address)
        providers = [
            p for p in cast("tuple[PushSender, ...]", self._for("push")) if scheme in p.schemes
        ]
        if not providers:
            detail = f"no push provider for {scheme!r} addresses"
            return DeliveryResult(ok=False, provider="", retry=False, detail=detail)
        return await failover(providers, lambda p: p.push(message), self.secrets)
