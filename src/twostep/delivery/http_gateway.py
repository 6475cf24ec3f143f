"""A generic HTTP gateway for SMS and voice: one JSON POST per message to a URL the operator runs
(a modem, an in-house telco bridge). The contract is small on purpose:

    POST <url>
    Authorization: Bearer <token>            (when a token is configured)
    Idempotency-Key: <the message's key>     (the same key on every retry of one message)
    {"to": "+15551234567", "text": "...", "kind": "sms" | "voice", "language": "es" | null}

2xx is delivered (a JSON ``{"id": ...}`` answer is kept as the message id); 5xx, 408, 429 and
network trouble are retried, and so are 401/403 (our token was refused: the gateway is at fault,
another provider may still deliver); any other status means this message cannot be sent."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from twostep.delivery import _http
from twostep.delivery.base import (
    ConfigField,
    DeliveryResult,
    ProviderSpec,
    SmsMessage,
    VoiceMessage,
)

NAME = "http_gateway"


class HttpGateway:
    name = NAME

    def __init__(
        self,
        config: Mapping[str, str],
        http: httpx.AsyncClient,
        *,
        timeout: float = _http.DEFAULT_TIMEOUT,
    ) -> None:
        self._url = _http.check_url(NAME, "url", config["url"])
        self._token = config.get("token", "")
        self._http = http
        self._timeout = timeout

    async def send_sms(self, message: SmsMessage) -> DeliveryResult:
        payload = {"to": message.to, "text": message.body, "kind": "sms", "language": None}
        return await self._post(payload, message.idempotency_key)

    async def call(self, message: VoiceMessage) -> DeliveryResult:
        payload = {
            "to": message.to,
            "text": message.text,
            "kind": "voice",
            "language": message.language,
        }
        return await self._post(payload, message.idempotency_key)

    async def _post(self, payload: Mapping[str, str | None], key: str) -> DeliveryResult:
        headers = {"Idempotency-Key": key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        response = await _http.post(
            self._http, NAME, self._url, seconds=self._timeout, json=payload, headers=headers
        )
        if isinstance(response, DeliveryResult):
            return response
        if response.is_success:
            message_id = _http.json_body(response).get("id", "")
            return DeliveryResult(ok=True, provider=NAME, detail=str(message_id))
        retry = _http.retry_for_status(response.status_code) or response.status_code in (401, 403)
        detail = f"HTTP {response.status_code}: {response.text[:200]}"
        return _http.failed(NAME, detail, retry=retry, secrets=(self._token,))


def _factory(config: Mapping[str, str], http: httpx.AsyncClient) -> HttpGateway:
    return HttpGateway(config, http)


SPEC = ProviderSpec(
    name=NAME,
    channels=("sms", "voice"),
    fields=(
        ConfigField("url", help="where to POST each message (https://...)"),
        ConfigField("token", required=False, secret=True, help="sent as a Bearer token"),
    ),
    factory=_factory,
)
