"""APNs against a fake that speaks HTTP/2 over TLS (ALPN), as Apple's service does."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.delivery.fake_apis import ApnsApi
from tests.delivery.fakes import FakeHttp, Reply, Tls, closed_port_url
from twostep.clock import FrozenClock
from twostep.delivery.apns import SPEC, Apns, apns_id
from twostep.delivery.base import CENSORED, ConfigProblem, DeliveryResult, PushMessage, censor

pytestmark = pytest.mark.anyio

TEAM, KEY_ID, TOPIC = "ABCDE12345", "KEY1234567", "com.example.authenticator"
DEVICE = "a1" * 32


def push_to(device: str, key: str = "p1") -> PushMessage:
    return PushMessage(
        address=f"apns:{device}",
        title="Sign-in request",
        body="Approve?",
        data={"approval": "0a1b", "aps": "must not replace ours"},
        idempotency_key=key,
    )


def pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def api(key: ec.EllipticCurvePrivateKey) -> ApnsApi:
    return ApnsApi(TEAM, KEY_ID, key.public_key(), TOPIC)


@pytest.fixture
def fake(api: ApnsApi, tls: Tls) -> Iterator[FakeHttp]:
    with FakeHttp(api, tls=tls) as server:
        yield server


@pytest.fixture
async def http2(tls: Tls) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(http2=True, verify=tls.client_context()) as client:
        yield client


def apns(
    http: httpx.AsyncClient,
    key: ec.EllipticCurvePrivateKey,
    url: str,
    clock: FrozenClock | None = None,
    timeout: float = 5,
) -> Apns:
    config = {
        "team_id": TEAM,
        "key_id": KEY_ID,
        "private_key_pem": pem(key),
        "topic": TOPIC,
        "base_url": url,
    }
    return Apns(SPEC.validate(config), http, timeout=timeout, clock=clock)


async def test_push_over_http2_with_a_provider_token(
    fake: FakeHttp, key: ec.EllipticCurvePrivateKey, http2: httpx.AsyncClient
) -> None:
    result = await apns(http2, key, fake.url).push(push_to(DEVICE))

    assert result == DeliveryResult(ok=True, provider="apns", detail=apns_id("p1"))
    [request] = fake.requests
    assert request.http_version == "2"
    assert request.method == "POST"
    assert request.path == f"/3/device/{DEVICE}"
    assert request.headers["apns-topic"] == TOPIC
    assert request.headers["apns-push-type"] == "alert"
    assert request.headers["apns-priority"] == "10"
    assert uuid.UUID(request.headers["apns-id"]) == uuid.UUID(apns_id("p1"))
    scheme, token = request.headers["authorization"].split(" ")
    assert scheme == "bearer"
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "typ": "JWT", "kid": KEY_ID}
    claims = jwt.decode(token, key.public_key(), algorithms=["ES256"])
    assert claims["iss"] == TEAM
    assert abs(claims["iat"] - time.time()) < 60
    assert request.json() == {
        "approval": "0a1b",
        "aps": {"alert": {"title": "Sign-in request", "body": "Approve?"}},
    }


def test_apns_id_is_stable_per_message() -> None:
    assert apns_id("k") == apns_id("k")
    assert apns_id("k") != apns_id("other")
    assert uuid.UUID(apns_id("k")).version == 5


async def test_provider_token_is_reused_then_refreshed(
    fake: FakeHttp, key: ec.EllipticCurvePrivateKey, http2: httpx.AsyncClient
) -> None:
    clock = FrozenClock(time.time() - 2500)  # the fake checks "iat" against the real clock
    provider = apns(http2, key, fake.url, clock)
    assert (await provider.push(push_to(DEVICE, "a"))).ok
    clock.advance(39 * 60)
    assert (await provider.push(push_to(DEVICE, "b"))).ok
    clock.advance(60)
    assert (await provider.push(push_to(DEVICE, "c"))).ok
    tokens = [r.headers["authorization"] for r in fake.requests]
    assert tokens[0] == tokens[1]  # Apple throttles tokens refreshed within 20 minutes
    assert tokens[2] != tokens[1]


async def test_expired_provider_token_is_signed_anew(
    fake: FakeHttp, key: ec.EllipticCurvePrivateKey, http2: httpx.AsyncClient
) -> None:
    clock = FrozenClock(time.time() - 10)
    provider = apns(http2, key, fake.url, clock)
    fake.queue(Reply(403, {"reason": "ExpiredProviderToken"}))
    refused = await provider.push(push_to(DEVICE))
    assert refused == DeliveryResult(
        ok=False, provider="apns", retry=True, detail="HTTP 403 ExpiredProviderToken"
    )
    clock.advance(1)
    assert (await provider.push(push_to(DEVICE))).ok
    first, second = (r.headers["authorization"] for r in fake.requests)
    assert first != second


@pytest.mark.parametrize(
    ("device", "status", "reason", "retry"),
    [
        ("b2" * 32, 410, "Unregistered", False),  # the fake knows it as uninstalled
        ("abcdef" * 8, 400, "BadDeviceToken", False),
    ],
)
async def test_device_problems_are_final(
    fake: FakeHttp,
    api: ApnsApi,
    key: ec.EllipticCurvePrivateKey,
    http2: httpx.AsyncClient,
    device: str,
    status: int,
    reason: str,
    retry: bool,
) -> None:
    api.unregistered.add("b2" * 32)
    result = await apns(http2, key, fake.url).push(push_to(device))
    assert result == DeliveryResult(
        ok=False, provider="apns", retry=retry, detail=f"HTTP {status} {reason}"
    )


@pytest.mark.parametrize(
    ("status", "reason", "retry"),
    [
        (400, "DeviceTokenNotForTopic", False),
        (400, "PayloadTooLarge", False),
        (403, "InvalidProviderToken", True),
        (429, "TooManyRequests", True),
        (500, "InternalServerError", True),
        (503, "ServiceUnavailable", True),
    ],
)
async def test_failure_classes(
    fake: FakeHttp,
    key: ec.EllipticCurvePrivateKey,
    http2: httpx.AsyncClient,
    status: int,
    reason: str,
    retry: bool,
) -> None:
    fake.queue(Reply(status, {"reason": reason}))
    result = await apns(http2, key, fake.url).push(push_to(DEVICE))
    assert result == DeliveryResult(
        ok=False, provider="apns", retry=retry, detail=f"HTTP {status} {reason}"
    )


async def test_a_key_apple_does_not_know(fake: FakeHttp, http2: httpx.AsyncClient) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    result = await apns(http2, stranger, fake.url).push(push_to(DEVICE))
    assert result.retry is True
    assert result.detail == "HTTP 403 InvalidProviderToken"


async def test_token_echoed_by_the_service_is_blotted_out(
    fake: FakeHttp, key: ec.EllipticCurvePrivateKey, http2: httpx.AsyncClient
) -> None:
    provider = apns(http2, key, fake.url)
    fake.queue(Reply(400, {"reason": f"Bad {provider.provider_token()}"}))
    result = await provider.push(push_to(DEVICE))
    assert result.detail == f"HTTP 400 Bad {CENSORED}"


@pytest.mark.parametrize(
    "address", [f"apns:{DEVICE}/../../x", "apns:", "apns:xyz", f"fcm:{DEVICE}"]
)
async def test_bad_addresses_never_reach_the_path(
    fake: FakeHttp, key: ec.EllipticCurvePrivateKey, http2: httpx.AsyncClient, address: str
) -> None:
    message = PushMessage(address=address, title="t", body="b", data={}, idempotency_key="k")
    result = await apns(http2, key, fake.url).push(message)
    assert result.retry is False
    assert fake.requests == []


async def test_network_failure_and_timeout(
    fake: FakeHttp, key: ec.EllipticCurvePrivateKey, http2: httpx.AsyncClient
) -> None:
    down = await apns(http2, key, closed_port_url()).push(push_to(DEVICE))
    assert down.retry is True
    assert down.detail == "network error (ConnectError)"
    fake.queue(Reply(200, delay=1.0))
    slow = await apns(http2, key, fake.url, timeout=0.2).push(push_to(DEVICE))
    assert slow.retry is True
    assert slow.detail.startswith("timeout")


async def test_configuration(key: ec.EllipticCurvePrivateKey, http2: httpx.AsyncClient) -> None:
    config = {"team_id": TEAM, "key_id": KEY_ID, "private_key_pem": pem(key), "topic": TOPIC}
    values = SPEC.validate(config)
    assert values["base_url"] == "https://api.push.apple.com"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ConfigProblem, match="P-256"):
        SPEC.factory({**values, "private_key_pem": pem(rsa_key)}, http2)
    with pytest.raises(ConfigProblem, match="not a PEM"):
        SPEC.factory({**values, "private_key_pem": "MIGTAgEAMBMGByqGSM49"}, http2)
    with pytest.raises(ConfigProblem, match="topic is required"):
        SPEC.validate({**config, "topic": ""})
    assert censor(SPEC, values)["private_key_pem"] == CENSORED
    assert censor(SPEC, values)["key_id"] == KEY_ID
