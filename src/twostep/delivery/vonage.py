"""Vonage (formerly Nexmo) SMS API: ``POST /sms/json``. It answers HTTP 200 for most refusals and
puts the outcome in ``messages[i].status``, a code documented by Vonage ("0" is success)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from twostep.delivery import _http
from twostep.delivery.base import ConfigField, DeliveryResult, ProviderSpec, SmsMessage

NAME = "vonage"
DEFAULT_BASE = "https://rest.nexmo.com"

# GSM 03.38 default alphabet plus its extension table: text made only of these goes as "text";
# anything else needs type=unicode (UCS-2), or the handset shows question marks.
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    "\f^{}\\[~]|€"
)

# Status codes that say the message or the recipient is at fault: no retry, no failover.
# Everything else (1 throttled, 4 bad credentials, 5 internal error, 8/9 account barred or out of
# credit, 15 invalid sender, 29 destination not whitelisted...) is transient or about our account,
# where waiting or another provider can still deliver.
_PERMANENT = {
    "3": "invalid parameters",
    "6": "invalid message",
    "7": "number barred",
    "12": "message too long",
    "22": "invalid network code",
    "33": "number de-activated",
}


def needs_unicode(text: str) -> bool:
    return not set(text) <= _GSM7


class Vonage:
    name = NAME

    def __init__(
        self,
        config: Mapping[str, str],
        http: httpx.AsyncClient,
        *,
        timeout: float = _http.DEFAULT_TIMEOUT,
    ) -> None:
        self._key = config["api_key"]
        self._secret = config["api_secret"]
        self._from = config["from_name"]
        base = _http.check_url(NAME, "base_url", config.get("base_url") or DEFAULT_BASE)
        self._url = f"{base}/sms/json"
        self._http = http
        self._timeout = timeout

    async def send_sms(self, message: SmsMessage) -> DeliveryResult:
        form = {
            "api_key": self._key,
            "api_secret": self._secret,
            "from": self._from,
            "to": "".join(c for c in message.to if c.isdigit()),
            "text": message.body,
            "client-ref": message.idempotency_key[:100],  # echoed in delivery receipts
        }
        if needs_unicode(message.body):
            form["type"] = "unicode"
        response = await _http.post(self._http, NAME, self._url, seconds=self._timeout, data=form)
        if isinstance(response, DeliveryResult):
            return response
        body = _http.json_body(response)
        if not response.is_success:
            retry = _http.retry_for_status(response.status_code) or response.status_code in (
                401,
                403,
            )
            detail = (
                f"HTTP {response.status_code} {body.get('error-text') or body.get('title', '')}"
            )
            return self._failed(detail, retry=retry)
        return self._outcome(body)

    def _outcome(self, body: dict[str, Any]) -> DeliveryResult:
        parts = body.get("messages")
        if not isinstance(parts, list) or not parts:
            return self._failed("unexpected answer: no messages", retry=True)
        ids: list[str] = []
        for part in parts:
            status = str(part.get("status", "")) if isinstance(part, dict) else ""
            if status != "0":
                text = part.get("error-text", "") if isinstance(part, dict) else ""
                reason = _PERMANENT.get(status, "")
                detail = f"status {status or '?'}: {text or reason or 'unknown error'}"
                return self._failed(detail, retry=status not in _PERMANENT)
            ids.append(str(part.get("message-id", "")))
        # a long text goes as several parts, each with its own id; the first names the message
        return DeliveryResult(ok=True, provider=NAME, detail=ids[0])

    def _failed(self, detail: str, *, retry: bool) -> DeliveryResult:
        return _http.failed(NAME, detail, retry=retry, secrets=(self._secret,))


def _factory(config: Mapping[str, str], http: httpx.AsyncClient) -> Vonage:
    return Vonage(config, http)


SPEC = ProviderSpec(
    name=NAME,
    channels=("sms",),
    fields=(
        ConfigField("api_key", help="the account's API key"),
        ConfigField("api_secret", secret=True, help="the account's API secret"),
        ConfigField(
            "from_name", help="sender: a number in E.164 without + or an alphanumeric name"
        ),
        ConfigField("base_url", required=False, default=DEFAULT_BASE, help="API root, for proxies"),
    ),
    factory=_factory,
)
