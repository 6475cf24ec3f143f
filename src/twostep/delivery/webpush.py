"""Web Push (RFC 8030) with VAPID (RFC 8292), without payload: the service worker wakes up and
fetches what waits for it, so there is nothing to encrypt (RFC 8291 applies only to payloads) and
the push service never sees a title or a body.

The address is the browser's subscription endpoint, ``webpush:<https URL>``. Endpoints come from
browsers, so only the configured push-service hosts are posted to."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from twostep.clock import Clock, SystemClock
from twostep.delivery import _http
from twostep.delivery.base import (
    ConfigField,
    ConfigProblem,
    DeliveryResult,
    ProviderSpec,
    PushMessage,
)

NAME = "webpush"
SCHEME = "webpush"
TTL_SECONDS = 600  # a wake-up older than this is no use: the request it announces has moved on
JWT_LIFETIME = 12 * 3600  # RFC 8292 §2: no more than 24 hours
DEFAULT_HOSTS = ",".join(
    (
        "fcm.googleapis.com",  # Chrome, Edge, Opera
        "updates.push.services.mozilla.com",  # Firefox
        "web.push.apple.com",  # Safari
        ".notify.windows.com",  # legacy Edge
    )
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def origin(url: str) -> str:
    """RFC 8292 §2: the JWT's audience is the push resource's origin."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


class WebPush:
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
        pem = config["vapid_private_key_pem"]
        self._key = _http.load_p256_key(NAME, "vapid_private_key_pem", pem)
        public = self._key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        self.public_key = b64url(public)  # the applicationServerKey browsers subscribe with
        self._subject = config["vapid_subject"]
        if not self._subject.startswith(("mailto:", "https:")):
            raise ConfigProblem(f"{NAME}: vapid_subject must be a mailto: or https: URI")
        self._hosts = _http.parse_hosts(config.get("allowed_hosts") or DEFAULT_HOSTS)
        self._allow_http = _http.parse_bool(NAME, "allow_http", config.get("allow_http", "false"))
        self._http = http
        self._timeout = timeout
        self._clock = clock or SystemClock()

    def authorization(self, endpoint: str) -> str:
        """RFC 8292 §3: ``vapid t=<JWT>, k=<public key>``."""
        claims = {
            "aud": origin(endpoint),
            "exp": int(self._clock.time()) + JWT_LIFETIME,
            "sub": self._subject,
        }
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"typ": "JWT"})
        return f"vapid t={token}, k={self.public_key}"

    async def push(self, message: PushMessage) -> DeliveryResult:
        scheme, _, endpoint = message.address.partition(":")
        if scheme != SCHEME or not _http.url_allowed(
            endpoint, self._hosts, allow_http=self._allow_http
        ):
            return _http.failed(NAME, "endpoint is not on an allowed push service", retry=False)
        headers = {
            "TTL": str(TTL_SECONDS),
            "Urgency": "high",
            "Authorization": self.authorization(endpoint),
        }
        response = await _http.post(
            self._http, NAME, endpoint, seconds=self._timeout, content=b"", headers=headers
        )
        if isinstance(response, DeliveryResult):
            return response
        if response.is_success:
            return DeliveryResult(
                ok=True, provider=NAME, detail=response.headers.get("location", "")
            )
        status = response.status_code
        # 404/410: the subscription expired or was dropped; other 4xx (401/403 a VAPID key the
        # subscription was not made with, 413...) will not pass either
        detail = f"HTTP {status}: {response.text[:200]}"
        return _http.failed(NAME, detail, retry=_http.retry_for_status(status))


def _factory(config: Mapping[str, str], http: httpx.AsyncClient) -> WebPush:
    return WebPush(config, http)


SPEC = ProviderSpec(
    name=NAME,
    channels=("push",),
    fields=(
        ConfigField(
            "vapid_private_key_pem",
            secret=True,
            help="EC P-256 private key, PEM (openssl ecparam -name prime256v1 -genkey -noout)",
        ),
        ConfigField("vapid_subject", help="contact for the push services: mailto: or https: URI"),
        ConfigField(
            "allowed_hosts",
            required=False,
            default=DEFAULT_HOSTS,
            help='comma-separated push-service hosts ("host", "host:port", ".domain")',
        ),
        ConfigField(
            "allow_http",
            required=False,
            default="false",
            help="also post to plain http:// endpoints (testing only)",
        ),
    ),
    factory=_factory,
)
