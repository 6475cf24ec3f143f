"""HTTP calls of the device protocol (docs/device-protocol.md) with a synchronous ``httpx.Client``:
the unsigned enrolment calls (§2) and the signed device calls (§3, §4). Every refusal from the
server becomes a ``ServerError`` carrying the Authy envelope's message and code."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from twostep import __version__
from twostep.authenticator.protocol import DeviceKey, canonical_request, new_nonce

USER_AGENT = f"twostep-authenticator/{__version__}"
TIMEOUT = httpx.Timeout(20.0, connect=10.0)
STREAM_TIMEOUT = httpx.Timeout(10.0, read=45.0)  # the server sends a keep-alive every 15 s
INVALID_SIGNATURE = "60087"
CLOCK_SKEW_SECONDS = 300  # the protocol's window (§3); the server may be configured otherwise

Json = dict[str, Any]


class AuthenticatorError(Exception):
    """A failure the command line shows as it is."""


class Unreachable(AuthenticatorError):
    """The server could not be reached (or answered something that is not the protocol)."""


class ServerError(AuthenticatorError):
    """The server refused: the Authy envelope's ``message`` and ``error_code``."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None,
        errors: Json | None = None,
        clock_skew: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.errors = errors or {}
        self.clock_skew = clock_skew  # server clock minus ours (from its Date header), if known

    def __str__(self) -> str:
        where = f"HTTP {self.status}" + (f", error {self.code}" if self.code else "")
        text = f"{self.message} ({where})"
        if self.code == INVALID_SIGNATURE:
            text += ": " + self.why_refused()
        return text

    @property
    def device_refused(self) -> bool:
        return self.code == INVALID_SIGNATURE

    @property
    def clock_off(self) -> bool:
        """Whether our clock is (nearly) out of the server's window, from its Date header."""
        return self.clock_skew is not None and abs(self.clock_skew) > CLOCK_SKEW_SECONDS * 0.8

    def why_refused(self) -> str:
        """What a refused signature most likely means for the person."""
        if self.clock_skew is not None and self.clock_off:
            return (
                f"this computer's clock is {abs(self.clock_skew):.0f} s "
                f"{'behind' if self.clock_skew > 0 else 'ahead of'} the server's; correct it"
            )
        return (
            "the server no longer accepts this device (it was revoked, or is not active); "
            "enroll again with `twostep authenticator enroll`"
        )


def _server_time(response: httpx.Response) -> float | None:
    try:
        return parsedate_to_datetime(response.headers["date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None


def refusal(response: httpx.Response, now: float | None = None) -> ServerError:
    """The ``ServerError`` for an answer with a 4xx/5xx status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        text = response.text.strip()[:200] or response.reason_phrase
        return ServerError(response.status_code, f"unexpected answer from the server: {text}", None)
    served = _server_time(response)
    skew = served - (now if now is not None else time.time()) if served is not None else None
    errors = body.get("errors")
    return ServerError(
        response.status_code,
        body["message"],
        str(body["error_code"]) if body.get("error_code") is not None else None,
        errors if isinstance(errors, dict) else None,
        skew,
    )


def decode(response: httpx.Response, now: float | None = None) -> Json:
    """The JSON body of a successful answer; ``ServerError`` for a refusal."""
    if response.status_code >= 400:
        raise refusal(response, now)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Unreachable(f"the server's answer is not JSON (HTTP {response.status_code})")
    return body


def new_http(server: str, timeout: httpx.Timeout = TIMEOUT) -> httpx.Client:
    return httpx.Client(base_url=server, timeout=timeout, headers={"User-Agent": USER_AGENT})


@contextmanager
def reaching(server: str) -> Iterator[None]:
    """Turn transport failures into ``Unreachable`` with the server's address."""
    try:
        yield
    except httpx.TransportError as exc:
        raise Unreachable(
            f"cannot reach the server at {server}: {exc or type(exc).__name__}"
        ) from None


class Enrollment:
    """The unsigned enrolment calls (§2.1, §2.2)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def _post(self, url: str, body: Json) -> tuple[int, Json]:
        with reaching(str(self.http.base_url) or url):
            response = self.http.post(url, json=body)
        return response.status_code, decode(response)

    def start(self, country_code: int, number: str, via: str, locale: str | None) -> Json:
        body: Json = {"country_code": country_code, "phone_number": number, "via": via}
        if locale:
            body["locale"] = locale
        return self._post("/device/v1/enrollments", body)[1]

    def confirm(self, enrollment_id: str, pin: str, device: Json) -> tuple[int, Json]:
        """200 (completed) or 202 (pending approval), with the body."""
        return self._post(f"/device/v1/enrollments/{enrollment_id}/confirm", {"pin": pin, **device})

    def redeem_link(self, url: str, device: Json) -> tuple[int, Json]:
        return self._post(url, device)


class DeviceClient:
    """Signed calls for an enrolled device. ``now`` gives this device's Unix time."""

    def __init__(
        self,
        http: httpx.Client,
        key: DeviceKey,
        device_uuid: str,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.key = key
        self.device_uuid = device_uuid
        self.now = now
        self.prefix = urlsplit(str(http.base_url)).path.rstrip("/")

    def signed_headers(self, method: str, target: str, body: bytes = b"") -> dict[str, str]:
        stamp, nonce = int(self.now()), new_nonce()
        return {
            "X-TwoStep-Device": self.device_uuid,
            "X-TwoStep-Timestamp": str(stamp),
            "X-TwoStep-Nonce": nonce,
            "X-TwoStep-Signature": self.key.sign(
                canonical_request(method, self.prefix + target, stamp, nonce, body)
            ),
        }

    def _prepare(
        self, method: str, path: str, body: Json | None, params: dict[str, Any] | None
    ) -> tuple[str, bytes, dict[str, str]]:
        target = path + (f"?{urlencode(params)}" if params else "")
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = self.signed_headers(method, target, raw)
        if body is not None:
            headers["Content-Type"] = "application/json"
        return target, raw, headers

    def call(
        self,
        method: str,
        path: str,
        body: Json | None = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Json:
        target, raw, headers = self._prepare(method, path, body, params)
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        with reaching(str(self.http.base_url)):
            response = self.http.request(method, target, content=raw, headers=headers, **extra)
        return decode(response, self.now())

    def accounts(self) -> list[Json]:
        found: list[Json] = self.call("GET", "/device/v1/accounts")["accounts"]
        return found

    def pending(self, wait: int | None = None) -> list[Json]:
        params: dict[str, Any] = {"status": "pending"}
        if wait:
            params["wait"] = wait
        body = self.call(
            "GET",
            "/device/v1/approval_requests",
            params=params,
            timeout=wait + 20.0 if wait else None,
        )
        found: list[Json] = body["approval_requests"]
        return found

    def answer(
        self, uuid: str, status: str, signed_at: int, signature: str, number: str | None
    ) -> Json:
        body: Json = {"status": status, "signed_at": signed_at, "signature": signature}
        if number is not None:
            body["number"] = number
        request: Json = self.call("POST", f"/device/v1/approval_requests/{uuid}", body)[
            "approval_request"
        ]
        return request

    def enrollment(self, enrollment_id: str) -> Json:
        return self.call("GET", f"/device/v1/enrollments/{enrollment_id}")

    def recoveries(self) -> list[Json]:
        found: list[Json] = self.call("GET", "/device/v1/enrollments")["enrollments"]
        return found

    def decide_recovery(self, enrollment_id: str, approve: bool) -> Json:
        action = "approve" if approve else "cancel"
        decided: Json = self.call("POST", f"/device/v1/enrollments/{enrollment_id}/{action}", {})[
            "enrollment"
        ]
        return decided

    def set_push_address(self, address: str | None) -> None:
        self.call("PUT", "/device/v1/push_address", {"push_address": address})

    def revoke(self) -> None:
        self.call("DELETE", "/device/v1/device")

    @contextmanager
    def stream(self) -> Iterator[httpx.Response]:
        """The open event stream (§4), after its status was checked."""
        path = "/device/v1/approval_requests/stream"
        headers = {**self.signed_headers("GET", path), "Accept": "text/event-stream"}
        with (
            reaching(str(self.http.base_url)),
            self.http.stream("GET", path, headers=headers, timeout=STREAM_TIMEOUT) as response,
        ):
            if response.status_code >= 400:
                response.read()
                raise refusal(response, self.now())
            yield response
