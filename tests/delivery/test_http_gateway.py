from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.delivery.fake_apis import GatewayApi
from tests.delivery.fakes import FakeHttp, Reply, closed_port_url
from twostep.delivery.base import (
    CENSORED,
    ConfigProblem,
    DeliveryResult,
    SmsMessage,
    VoiceMessage,
    censor,
)
from twostep.delivery.http_gateway import SPEC, HttpGateway

pytestmark = pytest.mark.anyio

TOKEN = "gateway-bearer-token-xyz"
SMS = SmsMessage(to="+4915112345678", body="Code 123456", idempotency_key="sms-1")


@pytest.fixture
def fake() -> Iterator[FakeHttp]:
    with FakeHttp(GatewayApi(TOKEN)) as server:
        yield server


def gateway(http: httpx.AsyncClient, url: str, token: str = TOKEN) -> HttpGateway:
    return HttpGateway(SPEC.validate({"url": url, "token": token}), http, timeout=2)


async def test_sms_is_one_json_post(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    result = await gateway(http, f"{fake.url}/send").send_sms(SMS)

    assert result == DeliveryResult(ok=True, provider="http_gateway", detail="gw-sms-1")
    [request] = fake.requests
    assert request.path == "/send"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["idempotency-key"] == "sms-1"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "to": "+4915112345678",
        "text": "Code 123456",
        "kind": "sms",
        "language": None,
    }


async def test_call_carries_the_language(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    message = VoiceMessage(to="+4915112345678", text="Ihr Code", language="de", idempotency_key="v")
    assert (await gateway(http, fake.url).call(message)).ok
    assert fake.requests[0].json() == {
        "to": "+4915112345678",
        "text": "Ihr Code",
        "kind": "voice",
        "language": "de",
    }
    assert fake.requests[0].headers["idempotency-key"] == "v"


async def test_without_a_token_no_authorization_is_sent(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    fake.queue(Reply(202))
    result = await gateway(http, fake.url, token="").send_sms(SMS)
    assert result == DeliveryResult(ok=True, provider="http_gateway", detail="")
    assert "authorization" not in fake.requests[0].headers


@pytest.mark.parametrize(
    ("status", "retry"),
    [(500, True), (502, True), (429, True), (408, True), (401, True), (400, False), (422, False)],
)
async def test_failure_classes(
    fake: FakeHttp, http: httpx.AsyncClient, status: int, retry: bool
) -> None:
    fake.queue(Reply(status, "no"))
    result = await gateway(http, fake.url).send_sms(SMS)
    assert result == DeliveryResult(
        ok=False, provider="http_gateway", retry=retry, detail=f"HTTP {status}: no"
    )


async def test_token_echoed_in_an_error_is_blotted_out(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    fake.queue(Reply(400, f"bad header Authorization: Bearer {TOKEN}"))
    result = await gateway(http, fake.url).send_sms(SMS)
    assert TOKEN not in result.detail
    assert CENSORED in result.detail


async def test_network_failure_and_timeout_are_retryable(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    down = await gateway(http, closed_port_url()).send_sms(SMS)
    assert down.retry is True
    assert not down.ok
    fake.queue(Reply(200, delay=1.0))
    slow = await HttpGateway({"url": fake.url}, http, timeout=0.2).send_sms(SMS)
    assert slow.retry is True
    assert slow.detail.startswith("timeout")


async def test_configuration(http: httpx.AsyncClient) -> None:
    with pytest.raises(ConfigProblem, match="url is required"):
        SPEC.validate({"token": TOKEN})
    with pytest.raises(ConfigProblem, match="http"):
        SPEC.factory(SPEC.validate({"url": "file:///etc/passwd"}), http)
    assert censor(SPEC, {"url": "https://gw", "token": TOKEN}) == {
        "url": "https://gw",
        "token": CENSORED,
    }
    assert censor(SPEC, {"url": "https://gw", "token": ""}) == {"url": "https://gw", "token": ""}
