"""Firebase Cloud Messaging, HTTP v1 API: ``POST /v1/projects/{id}/messages:send`` with an OAuth2
access token that a Google service account obtains for itself (RFC 7523 JWT bearer grant, signed
RS256 with the account's key). The token lives about an hour and is reused until shortly before
it expires, so a burst of pushes costs one token request."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from twostep.clock import Clock, SystemClock
from twostep.delivery import _http
from twostep.delivery.base import (
    ConfigField,
    ConfigProblem,
    DeliveryResult,
    ProviderSpec,
    PushMessage,
)

NAME = "fcm"
SCHEME = "fcm"
DEFAULT_BASE = "https://fcm.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600  # the longest Google accepts
REFRESH_MARGIN = 300  # fetch a new access token this many seconds before the old one expires

# FcmError codes that say this token or message will never be accepted: the app was uninstalled,
# the token is malformed, or it belongs to another Firebase project.
_PERMANENT = frozenset({"UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH"})


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    project_id: str
    client_email: str
    private_key_id: str
    private_key: rsa.RSAPrivateKey
    token_uri: str


def parse_service_account(text: str) -> ServiceAccount:
    """The fields we use from the JSON key file Google Cloud hands out for a service account."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigProblem(f"{NAME}: service_account_json is not JSON") from exc
    if not isinstance(data, dict):
        raise ConfigProblem(f"{NAME}: service_account_json is not a JSON object")
    names = ("project_id", "client_email", "private_key_id", "private_key", "token_uri")
    for field_name in names:
        if not isinstance(data.get(field_name), str) or not data[field_name]:
            raise ConfigProblem(f"{NAME}: service_account_json lacks {field_name}")
    try:
        key = load_pem_private_key(data["private_key"].encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigProblem(f"{NAME}: the service account's private_key is not PEM") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigProblem(f"{NAME}: the service account's private_key is not an RSA key")
    token_uri = _http.check_url(NAME, "token_uri", data["token_uri"])
    return ServiceAccount(
        data["project_id"], data["client_email"], data["private_key_id"], key, token_uri
    )


def fcm_error(body: dict[str, Any]) -> str:
    """The FcmError code of an error answer, else its google.rpc status ("NOT_FOUND"...)."""
    error = body.get("error")
    if not isinstance(error, dict):
        return ""
    for item in error.get("details") or ():
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("FcmError"):
            return str(item.get("errorCode", ""))
    return str(error.get("status", ""))


class Fcm:
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
        self._account = parse_service_account(config["service_account_json"])
        base = _http.check_url(NAME, "base_url", config.get("base_url") or DEFAULT_BASE)
        self._url = f"{base}/v1/projects/{self._account.project_id}/messages:send"
        self._http = http
        self._timeout = timeout
        self._clock = clock or SystemClock()
        self._token = ""
        self._token_expires = 0.0
        self._lock = anyio.Lock()  # one token request at a time, the others wait for its result

    async def push(self, message: PushMessage) -> DeliveryResult:
        scheme, _, registration = message.address.partition(":")
        if scheme != SCHEME or not registration:
            return _http.failed(NAME, "not an fcm:<registration token> address", retry=False)
        token = await self._access_token()
        if isinstance(token, DeliveryResult):
            return token
        payload = {
            "message": {
                "token": registration,
                "notification": {"title": message.title, "body": message.body},
                "data": dict(message.data),
                "android": {"priority": "HIGH"},
            }
        }
        response = await _http.post(
            self._http,
            NAME,
            self._url,
            seconds=self._timeout,
            json=payload,
            headers={"Authorization": f"Bearer {token}"},
        )
        if isinstance(response, DeliveryResult):
            return response
        body = _http.json_body(response)
        if response.is_success:
            return DeliveryResult(ok=True, provider=NAME, detail=str(body.get("name", "")))
        if response.status_code == 401:
            self._token = ""  # revoked or expired early: the next attempt gets a fresh one
        code = fcm_error(body)
        error = body.get("error")
        text = str(error.get("message", "")) if isinstance(error, dict) else ""
        retry = code not in _PERMANENT and (
            _http.retry_for_status(response.status_code) or response.status_code in (401, 403)
        )
        detail = f"HTTP {response.status_code} {code}: {text}"
        return _http.failed(NAME, detail, retry=retry, secrets=(token,))

    async def _access_token(self) -> str | DeliveryResult:
        async with self._lock:
            now = self._clock.time()
            if self._token and now < self._token_expires - REFRESH_MARGIN:
                return self._token
            account = self._account
            assertion = jwt.encode(
                {
                    "iss": account.client_email,
                    "scope": SCOPE,
                    "aud": account.token_uri,
                    "iat": int(now),
                    "exp": int(now) + ASSERTION_LIFETIME,
                },
                account.private_key,
                algorithm="RS256",
                headers={"kid": account.private_key_id},
            )
            response = await _http.post(
                self._http,
                NAME,
                account.token_uri,
                seconds=self._timeout,
                data={"grant_type": GRANT_TYPE, "assertion": assertion},
            )
            if isinstance(response, DeliveryResult):
                return response
            body = _http.json_body(response)
            token = body.get("access_token")
            if not response.is_success or not isinstance(token, str) or not token:
                # invalid_grant and friends: the key was revoked or the clock is off; retry later
                reason = body.get("error_description") or body.get("error") or ""
                detail = f"access token refused: HTTP {response.status_code} {reason}"
                return _http.failed(NAME, detail, retry=True)
            expires_in = body.get("expires_in")
            lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
            self._token, self._token_expires = token, now + lifetime
            return token


def _factory(config: Mapping[str, str], http: httpx.AsyncClient) -> Fcm:
    return Fcm(config, http)


SPEC = ProviderSpec(
    name=NAME,
    channels=("push",),
    fields=(
        ConfigField(
            "service_account_json",
            secret=True,
            help="the service account's JSON key file (Firebase console → Service accounts)",
        ),
        ConfigField("base_url", required=False, default=DEFAULT_BASE, help="API root, for proxies"),
    ),
    factory=_factory,
)
