"""Sending OneTouch callbacks (spec §5 O3): the outbox job of kind ``callback`` queued with a
device's answer becomes a signed request to the application's callback URL.

Each attempt re-derives the application's current API key (the HMAC key), checks the URL with
``delivery.urlsafety`` and connects to the checked address, and signs with a fresh nonce (the Unix
time in seconds): a retry carries a new nonce and signature but the same ``Idempotency-Key``.

Outcomes are read as in ``worker.outbound``; a deleted application or a malformed job also go
dead at once. Details never hold the API key or the signature."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
import httpx
import orjson

from twostep import __version__
from twostep.core.signatures import get_callback_query, sign_callback
from twostep.delivery import urlsafety
from twostep.delivery.base import DeliveryResult
from twostep.errors import NotFound
from twostep.services import apps
from twostep.services.jobs import Job
from twostep.services.runtime import Runtime
from twostep.worker import outbound
from twostep.worker.dispatch import Deliver

PROVIDER = "callback"
USER_AGENT = f"TwoStep/{__version__} (callbacks)"


class CallbackRefused(ValueError):
    """The job cannot be sent as it is; retrying would not help."""


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    method: str  # "POST" or "GET"
    url: str  # where the request goes (GET: with the canonical query)
    signed_url: str  # the URL the signature covers: scheme, host, port, path; no query
    params: dict[str, Any]  # what the signature covers (and the POST body)
    body: bytes | None


def _merge_query(query: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The configured URL's own query parameters joined to the callback parameters."""
    merged: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        name = key.split("[", 1)[0]
        if name in params:
            raise CallbackRefused(f"the callback URL's query parameter {name!r} is reserved")
        if key in merged:
            raise CallbackRefused(f"the callback URL repeats the query parameter {key!r}")
        merged[key] = value
    merged.update(params)
    return merged


def build_request(url: str, method: str, params: Mapping[str, Any]) -> CallbackRequest:
    """The request for one callback.

    The signature covers the URL without its query (spec O3). A query already on the configured
    URL (say ``?tenant=7``, for the customer's routing) is kept:

    * POST: the URL is called as configured, query included; the body and the signature cover
      the callback parameters only, which is what every client verifies.
    * GET: the configured query parameters join the callback parameters and the whole query
      string is their canonical form (``get_callback_query``), signed as a whole. A receiver that
      verifies every query parameter it got (authy-java's ``validateSignatureForGet``, the Python
      client given the request's arguments) then accepts it, and nothing in the query is
      unsigned. The configured query is re-encoded canonically; a configured parameter that
      repeats, or that has the name of a callback parameter, is refused.
    """
    method = method.upper()
    if method not in ("POST", "GET"):
        raise CallbackRefused(f"unsupported callback method {method!r}")
    without_fragment = url.partition("#")[0]
    base, _, query = without_fragment.partition("?")
    if method == "POST":
        body = orjson.dumps(dict(params))
        return CallbackRequest(method, without_fragment, base, dict(params), body)
    signed = _merge_query(query, params)
    return CallbackRequest(method, f"{base}?{get_callback_query(signed)}", base, signed, None)


def _failed(detail: str, *, retry: bool) -> DeliveryResult:
    return outbound.failed(PROVIDER, detail, retry=retry)


def outcome(status: int, host: str) -> DeliveryResult:
    """What a response status means for the job (see ``worker.outbound``)."""
    return outbound.outcome(PROVIDER, status, host)


def _stop(detail: str, *, retry: bool) -> outbound.Stop:
    return outbound.Stop(PROVIDER, detail, retry=retry)


def _from_job(job: Job) -> tuple[CallbackRequest, int]:
    payload = job.payload
    try:
        request = build_request(str(payload["url"]), str(payload["method"]), payload["params"])
        return request, int(payload["app_id"])
    except CallbackRefused as exc:
        raise _stop(str(exc), retry=False) from None
    except (KeyError, TypeError, ValueError):
        raise _stop("malformed callback job", retry=False) from None


def make_callback_handler(
    rt: Runtime, http: httpx.AsyncClient, *, sender: urlsafety.PinnedSender | None = None
) -> Deliver:
    """The delivery function for ``callback`` jobs. Raises ValueError at once when the operator's
    ``callback_allowed_networks`` holds something that is not a network.

    ``http`` (the worker's shared client) is accepted like every handler's but not used to send:
    callbacks go through a ``PinnedSender`` (one verified connection per request; see
    ``delivery.urlsafety``). ``sender`` replaces it, e.g. to trust a private CA."""
    del http
    pinned = sender or urlsafety.PinnedSender()
    rules = outbound.policy(rt.settings)
    seconds = rt.settings.callback_timeout_seconds

    def signing_key(app_id: int) -> str:
        """The app's current API key, in one short read-only transaction."""
        try:
            return rt.run(lambda tx: apps.signing_key(tx, apps.get(tx, app_id)), write=False)
        except NotFound:
            raise _stop("the application or its API key no longer exists", retry=False) from None

    async def attempt(job: Job) -> DeliveryResult:
        request, app_id = _from_job(job)
        target = await outbound.checked(PROVIDER, request.url, rules, seconds)
        api_key = await anyio.to_thread.run_sync(signing_key, app_id)
        nonce = str(int(rt.clock.time()))
        signature = sign_callback(
            api_key, nonce, request.method, request.signed_url, request.params
        )
        headers = {
            "User-Agent": USER_AGENT,
            "X-Authy-Signature": signature,
            "X-Authy-Signature-Nonce": nonce,
            "Idempotency-Key": job.idempotency_key,
        }
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        return await outbound.send(
            PROVIDER,
            pinned,
            target,
            request.method,
            headers=headers,
            content=request.body,
            seconds=seconds,
        )

    return outbound.guarded(attempt)
