from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.delivery.fake_apis import WebPushApi
from tests.delivery.fakes import FakeHttp, Reply, closed_port_url
from twostep.delivery.base import CENSORED, ConfigProblem, DeliveryResult, PushMessage, censor
from twostep.delivery.webpush import SPEC, WebPush, origin

pytestmark = pytest.mark.anyio

SUBJECT = "mailto:ops@twostep.test"


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def api() -> WebPushApi:
    return WebPushApi()


@pytest.fixture
def fake(api: WebPushApi) -> Iterator[FakeHttp]:
    with FakeHttp(api) as server:
        api.origin = server.url
        yield server


def sec1_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # what `openssl ecparam -genkey` writes
        serialization.NoEncryption(),
    ).decode()


def webpush(
    http: httpx.AsyncClient, key: ec.EllipticCurvePrivateKey, url: str, timeout: float = 2
) -> WebPush:
    config = {
        "vapid_private_key_pem": sec1_pem(key),
        "vapid_subject": SUBJECT,
        "allowed_hosts": url.split("://", 1)[1],
        "allow_http": "true",
    }
    return WebPush(SPEC.validate(config), http, timeout=timeout)


def wake(endpoint: str) -> PushMessage:
    return PushMessage(
        address=f"webpush:{endpoint}",
        title="Sign-in request",
        body="Approve?",
        data={"approval": "0a1b"},
        idempotency_key="p1",
    )


async def test_push_without_payload_and_with_vapid(
    fake: FakeHttp, key: ec.EllipticCurvePrivateKey, http: httpx.AsyncClient
) -> None:
    result = await webpush(http, key, fake.url).push(wake(f"{fake.url}/push/sub-1"))

    assert result == DeliveryResult(ok=True, provider="webpush", detail=f"{fake.url}/message/0")
    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == "/push/sub-1"
    assert request.body == b""  # nothing to encrypt, nothing for the push service to read
    assert request.headers["content-length"] == "0"
    assert request.headers["ttl"] == "600"
    assert request.headers["urgency"] == "high"
    scheme, params = request.headers["authorization"].split(" ", 1)
    assert scheme == "vapid"
    t, k = (part.split("=", 1)[1] for part in params.split(", "))
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert base64.urlsafe_b64decode(k + "=" * (-len(k) % 4)) == public
    assert "=" not in k
    assert jwt.get_unverified_header(t) == {"alg": "ES256", "typ": "JWT"}
    claims = jwt.decode(t, key.public_key(), algorithms=["ES256"], audience=fake.url)
    assert claims["sub"] == SUBJECT
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc:def", "https://fcm.googleapis.com"),
        (
            "https://Updates.Push.Services.Mozilla.com/wpush/v2/x",
            "https://updates.push.services.mozilla.com",
        ),
        ("https://push.example:8443/x", "https://push.example:8443"),
    ],
)
def test_audience_is_the_origin(url: str, expected: str) -> None:
    assert origin(url) == expected


async def test_gone_subscription_is_final(
    fake: FakeHttp, api: WebPushApi, key: ec.EllipticCurvePrivateKey, http: httpx.AsyncClient
) -> None:
    api.gone.add("/push/old")
    result = await webpush(http, key, fake.url).push(wake(f"{fake.url}/push/old"))
    assert result.retry is False
    assert result.detail.startswith("HTTP 410")


@pytest.mark.parametrize(
    ("status", "retry"),
    [(404, False), (410, False), (413, False), (403, False), (429, True), (500, True), (503, True)],
)
async def test_failure_classes(
    fake: FakeHttp,
    key: ec.EllipticCurvePrivateKey,
    http: httpx.AsyncClient,
    status: int,
    retry: bool,
) -> None:
    fake.queue(Reply(status, "refused"))
    result = await webpush(http, key, fake.url).push(wake(f"{fake.url}/push/sub-1"))
    assert result == DeliveryResult(
        ok=False, provider="webpush", retry=retry, detail=f"HTTP {status}: refused"
    )


@pytest.mark.parametrize(
    "endpoint", ["https://attacker.invalid/collect", "http://127.0.0.2:1/latest/meta-data"]
)
async def test_only_push_services_are_posted_to(
    fake: FakeHttp, key: ec.EllipticCurvePrivateKey, http: httpx.AsyncClient, endpoint: str
) -> None:
    result = await webpush(http, key, fake.url).push(wake(endpoint))
    assert result.retry is False
    assert fake.requests == []


def test_default_hosts_are_the_browsers_push_services(key: ec.EllipticCurvePrivateKey) -> None:
    values = SPEC.validate({"vapid_private_key_pem": sec1_pem(key), "vapid_subject": SUBJECT})
    assert "fcm.googleapis.com" in values["allowed_hosts"]
    assert "updates.push.services.mozilla.com" in values["allowed_hosts"]
    assert "web.push.apple.com" in values["allowed_hosts"]


async def test_network_failure_and_timeout(
    fake: FakeHttp, key: ec.EllipticCurvePrivateKey, http: httpx.AsyncClient
) -> None:
    down_url = closed_port_url()
    down = await webpush(http, key, down_url).push(wake(f"{down_url}/push/x"))
    assert down.retry is True
    assert down.detail == "network error (ConnectError)"
    fake.queue(Reply(201, delay=1.0))
    slow = await webpush(http, key, fake.url, timeout=0.2).push(wake(f"{fake.url}/push/x"))
    assert slow.retry is True
    assert slow.detail.startswith("timeout")


async def test_configuration(key: ec.EllipticCurvePrivateKey, http: httpx.AsyncClient) -> None:
    values = SPEC.validate({"vapid_private_key_pem": sec1_pem(key), "vapid_subject": SUBJECT})
    with pytest.raises(ConfigProblem, match="mailto: or https:"):
        SPEC.factory({**values, "vapid_subject": "ops@twostep.test"}, http)
    with pytest.raises(ConfigProblem, match="vapid_private_key_pem"):
        SPEC.factory({**values, "vapid_private_key_pem": "nope"}, http)
    with pytest.raises(ConfigProblem, match="vapid_subject is required"):
        SPEC.validate({"vapid_private_key_pem": sec1_pem(key)})
    provider = SPEC.factory(values, http)
    assert isinstance(provider, WebPush)
    assert provider.schemes == ("webpush",)
    assert censor(SPEC, values)["vapid_private_key_pem"] == CENSORED
    assert censor(SPEC, values)["vapid_subject"] == SUBJECT
