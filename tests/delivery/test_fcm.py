from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.delivery.fake_apis import FcmApi
from tests.delivery.fakes import FakeHttp, Reply, closed_port_url
from twostep.clock import FrozenClock
from twostep.delivery.base import CENSORED, ConfigProblem, DeliveryResult, PushMessage, censor
from twostep.delivery.fcm import SPEC, Fcm

pytestmark = pytest.mark.anyio

PROJECT = "twostep-test"
EMAIL = "push@twostep-test.iam.gserviceaccount.com"
MESSAGE = PushMessage(
    address="fcm:dGVzdC10b2tlbg:APA91bH-registration",
    title="Sign-in request",
    body="Approve the sign-in?",
    data={"approval_request": "0a1b2c", "kind": "onetouch"},
    idempotency_key="p1",
)


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def api(key: rsa.RSAPrivateKey) -> FcmApi:
    return FcmApi(PROJECT, EMAIL, key.public_key())


@pytest.fixture
def fake(api: FcmApi) -> Iterator[FakeHttp]:
    with FakeHttp(api) as server:
        api.token_url = f"{server.url}/token"
        yield server


def account(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, token_uri: str) -> str:
    return json.dumps(
        {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "kid-0123",
            "private_key": pem(key),
            "client_email": EMAIL,
            "token_uri": token_uri,
        }
    )


def fcm(
    http: httpx.AsyncClient,
    key: rsa.RSAPrivateKey,
    url: str,
    clock: FrozenClock | None = None,
    timeout: float = 2,
) -> Fcm:
    config = {"service_account_json": account(key, f"{url}/token"), "base_url": url}
    return Fcm(SPEC.validate(config), http, timeout=timeout, clock=clock)


async def test_push_with_a_cached_access_token(
    fake: FakeHttp, api: FcmApi, key: rsa.RSAPrivateKey, http: httpx.AsyncClient
) -> None:
    provider = fcm(http, key, fake.url)
    first = await provider.push(MESSAGE)
    second = await provider.push(MESSAGE)

    assert first == DeliveryResult(
        ok=True, provider="fcm", detail=f"projects/{PROJECT}/messages/0:1"
    )
    assert second.ok
    grant, send, _ = fake.requests
    assert [r.path for r in fake.requests].count("/token") == 1  # one token for both pushes
    assertion = grant.form()["assertion"]
    assert jwt.get_unverified_header(assertion) == {"alg": "RS256", "typ": "JWT", "kid": "kid-0123"}
    [claims] = api.assertions  # the fake verified signature, audience and issuer
    assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    assert claims["exp"] - claims["iat"] == 3600
    assert send.path == f"/v1/projects/{PROJECT}/messages:send"
    assert send.headers["authorization"] == "Bearer ya29.fake-0"
    assert send.json() == {
        "message": {
            "token": "dGVzdC10b2tlbg:APA91bH-registration",
            "notification": {"title": "Sign-in request", "body": "Approve the sign-in?"},
            "data": {"approval_request": "0a1b2c", "kind": "onetouch"},
            "android": {"priority": "HIGH"},
        }
    }


async def test_token_is_renewed_shortly_before_it_expires(
    fake: FakeHttp, api: FcmApi, key: rsa.RSAPrivateKey, http: httpx.AsyncClient
) -> None:
    clock = FrozenClock(time.time() - 3400)  # so the fake, on the real clock, finds no JWT early
    provider = fcm(http, key, fake.url, clock)
    assert (await provider.push(MESSAGE)).ok
    clock.advance(3599 - 300 - 1)
    assert (await provider.push(MESSAGE)).ok
    assert len(api.tokens) == 1
    clock.advance(2)
    assert (await provider.push(MESSAGE)).ok
    assert len(api.tokens) == 2
    assert fake.requests[-1].headers["authorization"] == "Bearer ya29.fake-1"


async def test_a_refused_access_token_is_dropped(
    fake: FakeHttp, api: FcmApi, key: rsa.RSAPrivateKey, http: httpx.AsyncClient
) -> None:
    provider = fcm(http, key, fake.url)
    assert (await provider.push(MESSAGE)).ok
    api.tokens.clear()  # revoked at Google's end
    refused = await provider.push(MESSAGE)
    assert refused.retry is True
    assert refused.detail.startswith("HTTP 401 UNAUTHENTICATED")
    assert (await provider.push(MESSAGE)).ok  # with a new token
    assert [r.path for r in fake.requests].count("/token") == 2


@pytest.mark.parametrize(
    ("status", "rpc", "code", "retry"),
    [
        (404, "NOT_FOUND", "UNREGISTERED", False),
        (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", False),
        (403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", False),
        (429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", True),
        (503, "UNAVAILABLE", "UNAVAILABLE", True),
        (500, "INTERNAL", "INTERNAL", True),
        (401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", True),
    ],
)
async def test_error_classes(
    fake: FakeHttp,
    key: rsa.RSAPrivateKey,
    http: httpx.AsyncClient,
    status: int,
    rpc: str,
    code: str,
    retry: bool,
) -> None:
    provider = fcm(http, key, fake.url)
    assert (await provider.push(MESSAGE)).ok  # the access token is cached from here on
    fake.queue(FcmApi.error(status, rpc, code, "Bearer ya29.fake-0 refused"))
    result = await provider.push(MESSAGE)
    assert result == DeliveryResult(
        ok=False,
        provider="fcm",
        retry=retry,
        detail=f"HTTP {status} {code}: Bearer {CENSORED} refused",  # the token never shows
    )


async def test_unregistered_token_from_the_service(
    fake: FakeHttp, api: FcmApi, key: rsa.RSAPrivateKey, http: httpx.AsyncClient
) -> None:
    api.unregistered.add("dGVzdC10b2tlbg:APA91bH-registration")
    result = await fcm(http, key, fake.url).push(MESSAGE)
    assert result.retry is False
    assert result.detail == "HTTP 404 UNREGISTERED: Requested entity was not found."


async def test_a_key_google_does_not_know_gets_no_token(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    result = await fcm(http, stranger, fake.url).push(MESSAGE)
    assert result == DeliveryResult(
        ok=False, provider="fcm", retry=True, detail="access token refused: HTTP 400 Invalid JWT."
    )
    assert [r.path for r in fake.requests] == ["/token"]


async def test_network_failure_and_timeout(
    fake: FakeHttp, key: rsa.RSAPrivateKey, http: httpx.AsyncClient
) -> None:
    down = await fcm(http, key, closed_port_url()).push(MESSAGE)
    assert down.retry is True
    assert down.detail == "network error (ConnectError)"
    provider = fcm(http, key, fake.url, timeout=0.2)
    fake.queue(Reply(200, {"access_token": "late", "expires_in": 3599}, delay=1.0))
    slow = await provider.push(MESSAGE)
    assert slow.retry is True
    assert slow.detail.startswith("timeout")


async def test_bad_addresses_are_refused_without_a_request(
    fake: FakeHttp, key: rsa.RSAPrivateKey, http: httpx.AsyncClient
) -> None:
    for address in ("fcm:", "apns:abcdef"):
        bad = PushMessage(address=address, title="t", body="b", data={}, idempotency_key="k")
        result = await fcm(http, key, fake.url).push(bad)
        assert result.retry is False
    assert fake.requests == []


async def test_configuration(key: rsa.RSAPrivateKey, http: httpx.AsyncClient) -> None:
    good = json.loads(account(key, "https://oauth2.googleapis.com/token"))
    problems = {
        "not json": "not JSON",
        "[]": "not a JSON object",
        json.dumps({**good, "client_email": ""}): "lacks client_email",
        json.dumps({**good, "private_key": "-----BEGIN nonsense"}): "not PEM",
        json.dumps({**good, "private_key": pem(ec.generate_private_key(ec.SECP256R1()))}): "RSA",
        json.dumps({**good, "token_uri": "file:///x"}): "token_uri",
    }
    for text, problem in problems.items():
        with pytest.raises(ConfigProblem, match=problem):
            SPEC.factory(SPEC.validate({"service_account_json": text}), http)
    values = SPEC.validate({"service_account_json": json.dumps(good)})
    assert values["base_url"] == "https://fcm.googleapis.com"
    assert censor(SPEC, values) == {
        "service_account_json": CENSORED,
        "base_url": "https://fcm.googleapis.com",
    }
