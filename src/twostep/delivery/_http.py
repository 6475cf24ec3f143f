"""What the HTTP providers share: one way to POST that turns network trouble into a retryable
result, one rule for which statuses are worth retrying, and the checks their settings need.

Kept private to the package: providers differ in how they read error bodies, not in these."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from twostep.delivery.base import CENSORED, ConfigProblem, DeliveryResult

DEFAULT_TIMEOUT = 10.0  # seconds, per request: a slow provider must not hold a worker for long
MAX_DETAIL = 300


def _secret_pieces(secrets: Iterable[str]) -> list[str]:
    """Each secret, and each long line of a multi-line one (a PEM key, a JSON key file), longest
    first so that a whole secret is replaced before its parts."""
    pieces: set[str] = set()
    for secret in secrets:
        if len(secret) >= 4:
            pieces.add(secret)
        pieces.update(line.strip() for line in secret.splitlines() if len(line.strip()) >= 16)
    return sorted(pieces, key=len, reverse=True)


def clean(detail: str, secrets: Iterable[str] = ()) -> str:
    """A detail fit for a DeliveryResult: single line, bounded, with any secret value blotted out
    (a provider may echo what it was sent)."""
    for piece in _secret_pieces(secrets):
        detail = detail.replace(piece, CENSORED)
    return " ".join(detail.split())[:MAX_DETAIL]


def failed(
    provider: str, detail: str, *, retry: bool, secrets: Iterable[str] = ()
) -> DeliveryResult:
    return DeliveryResult(ok=False, provider=provider, retry=retry, detail=clean(detail, secrets))


def retry_for_status(status: int) -> bool:
    """5xx, 408 and 429 are the service's trouble and pass; other 4xx refuse this very request."""
    return status >= 500 or status in (408, 425, 429)


async def post(
    http: httpx.AsyncClient, provider: str, url: str, *, seconds: float, **kwargs: Any
) -> httpx.Response | DeliveryResult:
    """POST without following redirects; a timeout or a network error becomes a retryable result.

    The detail names only the exception class: its message may carry the URL, and some URLs
    (ntfy topics, push endpoints) are capabilities."""
    try:
        return await http.post(url, timeout=seconds, follow_redirects=False, **kwargs)
    except httpx.TimeoutException as exc:
        return failed(provider, f"timeout ({type(exc).__name__})", retry=True)
    except httpx.HTTPError as exc:
        return failed(provider, f"network error ({type(exc).__name__})", retry=True)


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or {} when it is not one (proxies answer with HTML)."""
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def check_url(provider: str, name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigProblem(f"{provider}: {name} must be an http(s) URL")
    return value.rstrip("/")


def parse_bool(provider: str, name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off", ""):
        return False
    raise ConfigProblem(f"{provider}: {name} must be true or false")


def parse_seconds(provider: str, name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 300:
        raise ConfigProblem(f"{provider}: {name} must be a number of seconds between 0 and 300")
    return seconds


def load_p256_key(provider: str, name: str, pem: str) -> ec.EllipticCurvePrivateKey:
    """An ES256 signing key from PEM (PKCS#8 as Apple hands out, or SEC1 as openssl makes)."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigProblem(f"{provider}: {name} is not a PEM private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigProblem(f"{provider}: {name} must be an EC P-256 key")
    return key


def parse_hosts(value: str) -> frozenset[str]:
    return frozenset(h.strip().lower() for h in value.split(",") if h.strip())


def url_allowed(url: str, hosts: frozenset[str], *, allow_http: bool) -> bool:
    """Whether a device-supplied URL may be posted to: https (or http when allowed) to a listed
    host, "host" or "host:port", where ".example.com" admits every subdomain. Addresses come from
    devices, so without this list the server would post wherever a client pointed it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        return False
    if not host or parts.username is not None or parts.password is not None:
        return False
    candidates = {host} if port is None else {host, f"{host}:{port}"}
    for allowed in hosts:
        if allowed in candidates or (allowed.startswith(".") and host.endswith(allowed)):
            return True
    return False
