"""Apple Push Notification service, token-based: ``POST /3/device/{token}`` over HTTP/2 with an
ES256 provider token (JWT with the key id and team id).

APNs speaks only HTTP/2, so the shared client must be built with ``http2=True`` (which needs the
``h2`` package); httpx then negotiates HTTP/2 by ALPN with Apple and keeps HTTP/1.1 for the other
providers. Apple refuses provider tokens refreshed more often than every 20 minutes and expires
them after an hour, so one token is signed every 40 minutes and on Apple's word that it expired."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

import httpx
import jwt

from twostep.clock import Clock, SystemClock
from twostep.delivery import _http
from twostep.delivery.base import ConfigField, DeliveryResult, ProviderSpec, PushMessage

NAME = "apns"
SCHEME = "apns"
DEFAULT_BASE = "https://api.push.apple.com"
TOKEN_LIFETIME = 40 * 60
_DEVICE_TOKEN = re.compile(r"[0-9a-fA-F]{32,200}")
_APNS_ID_NAMESPACE = uuid.UUID("5f0b7b53-3c1e-4f55-9a0b-7d6a5f1d2a41")

# reasons (with 400 or 410) that say this device token will never take this push
_GONE = frozenset({"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered", "ExpiredToken"})
_STALE_PROVIDER_TOKEN = frozenset({"ExpiredProviderToken", "InvalidProviderToken"})


def apns_id(idempotency_key: str) -> str:
    """The same UUID for every attempt at one push, so Apple's logs and ours tie together."""
    return str(uuid.uuid5(_APNS_ID_NAMESPACE, idempotency_key))


class Apns:
    name = NAME
    schemes = (SCHEME,)

    def __init__(
        self,
        config: Mapping[str, str],
        http: httpx.AsyncClient,
        *,
        timeout: float = _http.DEFAULT_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        self._team_id = config["team_id"]
        self._key_id = config["key_id"]
        self._key = _http.load_p256_key(NAME, "private_key_pem", config["private_key_pem"])
        self._topic = config["topic"]
        self._base = _http.check_url(NAME, "base_url", config.get("base_url") or DEFAULT_BASE)
        self._http = http
        self._timeout = timeout
        self._clock = clock or SystemClock()
        self._jwt = ""
        self._jwt_issued = 0.0

    def provider_token(self) -> str:
        now = self._clock.time()
        if not self._jwt or now - self._jwt_issued >= TOKEN_LIFETIME:
            self._jwt = jwt.encode(
                {"iss": self._team_id, "iat": int(now)},
                self._key,
                algorithm="ES256",
                headers={"kid": self._key_id},
            )
            self._jwt_issued = now
        return self._jwt

    async def push(self, message: PushMessage) -> DeliveryResult:
        scheme, _, device = message.address.partition(":")
        if scheme != SCHEME or not _DEVICE_TOKEN.fullmatch(device):
            return _http.failed(NAME, "not an apns:<hex device token> address", retry=False)
        token = self.provider_token()
        headers = {
            "authorization": f"bearer {token}",
            "apns-topic": self._topic,
            "apns-push-type": "alert",
            "apns-priority": "10",
            "apns-id": apns_id(message.idempotency_key),
        }
        payload = {**message.data, "aps": {"alert": {"title": message.title, "body": message.body}}}
        response = await _http.post(
            self._http,
            NAME,
            f"{self._base}/3/device/{device}",
            seconds=self._timeout,
            json=payload,
            headers=headers,
        )
        if isinstance(response, DeliveryResult):
            return response
        if response.is_success:
            return DeliveryResult(
                ok=True, provider=NAME, detail=response.headers.get("apns-id", "")
            )
        reason = str(_http.json_body(response).get("reason", ""))
        status = response.status_code
        if reason in _STALE_PROVIDER_TOKEN:
            self._jwt = ""  # sign a new one for the next attempt
        # 410 and a bad token are for good; 403 is Apple refusing our key or token, which can be
        # fixed; other 4xx say this push is wrong
        gone = reason in _GONE or status == 410
        retry = not gone and (_http.retry_for_status(status) or status == 403)
        return _http.failed(NAME, f"HTTP {status} {reason}", retry=retry, secrets=(token,))


def _factory(config: Mapping[str, str], http: httpx.AsyncClient) -> Apns:
    return Apns(config, http)


SPEC = ProviderSpec(
    name=NAME,
    channels=("push",),
    fields=(
        ConfigField("team_id", help="the Apple Developer team id (10 characters)"),
        ConfigField("key_id", help="the id of the APNs auth key (.p8)"),
        ConfigField("private_key_pem", secret=True, help="the .p8 key file's PEM text"),
        ConfigField("topic", help="the app's bundle id"),
        ConfigField(
            "base_url",
            required=False,
            default=DEFAULT_BASE,
            help="https://api.sandbox.push.apple.com for development builds",
        ),
    ),
    factory=_factory,
)
