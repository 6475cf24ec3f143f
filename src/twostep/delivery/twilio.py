"""Twilio: SMS through Programmable Messaging, voice calls through Programmable Voice with inline
TwiML, both ``POST``-ed as forms with HTTP Basic auth (AccountSid:AuthToken)."""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr

import httpx

from twostep.delivery import _http
from twostep.delivery.base import (
    ConfigField,
    ConfigProblem,
    DeliveryResult,
    ProviderSpec,
    SmsMessage,
    VoiceMessage,
)

NAME = "twilio"
DEFAULT_BASE = "https://api.twilio.com"

# Twilio error codes that say *our* account or sender is wrong, not the recipient: another provider
# (or this one, once fixed) may still deliver, so they are retryable although sent with a 4xx.
_ACCOUNT_ERRORS = frozenset(
    {
        20003,  # authentication failed
        20404,  # the account (or resource) does not exist
        21212,  # invalid From number
        21408,  # sending to this region is not enabled on the account
        21606,  # the From number cannot send SMS
        21659,  # the From number is not a Twilio number
    }
)

# <Say> wants language-REGION; our locales are mostly bare languages. Regions are used as given
# ("zh-cn" → "zh-CN"); a bare language takes the region below, or its own code ("de" → "de-DE").
_SAY_LANGUAGE = {
    "ar": "ar-AE",
    "ca": "ca-ES",
    "da": "da-DK",
    "el": "el-GR",
    "en": "en-US",
    "he": "he-IL",
    "hi": "hi-IN",
    "ja": "ja-JP",
    "ko": "ko-KR",
    "nb": "nb-NO",
    "pt": "pt-BR",
    "sv": "sv-SE",
    "tl": "fil-PH",
    "vi": "vi-VN",
    "zh": "zh-CN",
}


def say_language(locale: str) -> str:
    """Our locale code as a language Twilio's <Say> accepts."""
    language, _, region = locale.replace("_", "-").lower().partition("-")
    if region:
        return f"{language}-{region.upper()}"
    return _SAY_LANGUAGE.get(language, f"{language}-{language.upper()}")


def twiml_say(text: str, locale: str) -> str:
    """TwiML that speaks ``text``; the text is XML-escaped so it can never add verbs."""
    return (
        f"<Response><Say language={quoteattr(say_language(locale))}>{escape(text)}</Say></Response>"
    )


class Twilio:
    name = NAME

    def __init__(
        self,
        config: Mapping[str, str],
        http: httpx.AsyncClient,
        *,
        timeout: float = _http.DEFAULT_TIMEOUT,
    ) -> None:
        self._sid = config["account_sid"]
        self._token = config["auth_token"]
        self._from = config.get("from_number", "")
        self._service = config.get("messaging_service_sid", "")
        if not (self._from or self._service):
            raise ConfigProblem(f"{NAME}: set from_number or messaging_service_sid")
        base = _http.check_url(NAME, "base_url", config.get("base_url") or DEFAULT_BASE)
        self._account_url = f"{base}/2010-04-01/Accounts/{self._sid}"
        self._http = http
        self._timeout = timeout

    async def send_sms(self, message: SmsMessage) -> DeliveryResult:
        form = {"To": message.to, "Body": message.body}
        if self._service:
            form["MessagingServiceSid"] = self._service
        else:
            form["From"] = self._from
        return await self._create("Messages.json", form)

    async def call(self, message: VoiceMessage) -> DeliveryResult:
        if not self._from:
            return _http.failed(NAME, "from_number is needed for calls", retry=True)
        twiml = twiml_say(message.text, message.language)
        return await self._create(
            "Calls.json", {"To": message.to, "From": self._from, "Twiml": twiml}
        )

    async def _create(self, resource: str, form: dict[str, str]) -> DeliveryResult:
        response = await _http.post(
            self._http,
            NAME,
            f"{self._account_url}/{resource}",
            seconds=self._timeout,
            data=form,
            auth=(self._sid, self._token),
        )
        if isinstance(response, DeliveryResult):
            return response
        body = _http.json_body(response)
        if response.is_success:
            return DeliveryResult(ok=True, provider=NAME, detail=str(body.get("sid", "")))
        return self._failure(response.status_code, body)

    def _failure(self, status: int, body: dict[str, object]) -> DeliveryResult:
        code = body.get("code")
        message = str(body.get("message", ""))
        retry = _http.retry_for_status(status) or status in (401, 403) or code in _ACCOUNT_ERRORS
        detail = (
            f"HTTP {status}"
            + (f" error {code}" if code else "")
            + (f": {message}" if message else "")
        )
        return _http.failed(NAME, detail, retry=retry, secrets=(self._token,))


def _factory(config: Mapping[str, str], http: httpx.AsyncClient) -> Twilio:
    return Twilio(config, http)


SPEC = ProviderSpec(
    name=NAME,
    channels=("sms", "voice"),
    fields=(
        ConfigField("account_sid", help="Account SID, starts with AC"),
        ConfigField("auth_token", secret=True, help="the account's Auth Token"),
        ConfigField(
            "from_number",
            required=False,
            help="E.164 sender number; required for calls and when no messaging service is set",
        ),
        ConfigField(
            "messaging_service_sid",
            required=False,
            help="send SMS through this Messaging Service (MG...) instead of from_number",
        ),
        ConfigField("base_url", required=False, default=DEFAULT_BASE, help="API root, for proxies"),
    ),
    factory=_factory,
)
