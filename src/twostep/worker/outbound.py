"""What OneTouch callbacks and webhooks share: sending to a customer's URL after the safety check
(``delivery.urlsafety``, pinned address), and reading the response status as a delivery outcome.

2xx is delivered. Network errors, timeouts, a failed name lookup, 3xx (redirects are never
followed) and other 4xx/5xx are retried: the customer may fix their endpoint, and the backoff and
dead-letter state bound the attempts. 410 Gone means "send no more": dead at once, like a URL
refused as unsafe. Details name the host and the status only, never a path, query or secret."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import httpx

from twostep.config import Settings
from twostep.delivery import urlsafety
from twostep.delivery.base import DeliveryResult
from twostep.services.jobs import Job


class Stop(Exception):
    def __init__(self, provider: str, detail: str, *, retry: bool) -> None:
        super().__init__(detail)
        self.result = failed(provider, detail, retry=retry)


def failed(provider: str, detail: str, *, retry: bool) -> DeliveryResult:
    return DeliveryResult(ok=False, provider=provider, retry=retry, detail=detail)


def outcome(provider: str, status: int, host: str) -> DeliveryResult:
    if 200 <= status < 300:
        return DeliveryResult(ok=True, provider=provider, detail=f"HTTP {status} from {host}")
    if status == 410:
        return failed(provider, f"HTTP 410 from {host}: the receiver wants no more", retry=False)
    if 300 <= status < 400:
        return failed(
            provider, f"HTTP {status} from {host} (redirects are not followed)", retry=True
        )
    return failed(provider, f"HTTP {status} from {host}", retry=True)


def policy(settings: Settings) -> urlsafety.Policy:
    """The operator's rules for customer URLs (ValueError if an allow-list entry is not a network)."""
    return urlsafety.Policy(
        allow_http=settings.callback_allow_http,
        allowed_networks=urlsafety.parse_networks(settings.callback_allowed_networks),
    )


async def checked(
    provider: str, url: str, rules: urlsafety.Policy, seconds: float
) -> urlsafety.Target:
    try:
        return await urlsafety.check(url, rules, seconds=seconds)
    except urlsafety.UnsafeUrl as exc:
        raise Stop(provider, f"refused: {exc}", retry=False) from None
    except urlsafety.ResolveError as exc:
        raise Stop(provider, str(exc), retry=True) from None
    except TimeoutError:
        raise Stop(provider, "name resolution timed out", retry=True) from None


async def send(
    provider: str,
    sender: urlsafety.PinnedSender,
    target: urlsafety.Target,
    method: str,
    *,
    headers: Mapping[str, str],
    content: bytes | None,
    seconds: float,
) -> DeliveryResult:
    try:
        status = await sender.send(
            target, method, headers=headers, content=content, seconds=seconds
        )
    except (TimeoutError, httpx.TimeoutException):
        return failed(provider, f"timeout calling {target.host}", retry=True)
    except httpx.HTTPError as exc:
        return failed(
            provider, f"network error calling {target.host} ({type(exc).__name__})", retry=True
        )
    return outcome(provider, status, target.host)


def guarded(
    attempt: Callable[[Job], Awaitable[DeliveryResult]],
) -> Callable[[Job], Awaitable[DeliveryResult]]:
    """A delivery function from an attempt that may end early with ``Stop``."""

    async def deliver(job: Job) -> DeliveryResult:
        try:
            return await attempt(job)
        except Stop as stop:
            return stop.result

    return deliver
