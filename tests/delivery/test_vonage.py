from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.delivery.fake_apis import VonageApi
from tests.delivery.fakes import FakeHttp, Reply, closed_port_url
from twostep.delivery.base import (
    CENSORED,
    ConfigProblem,
    DeliveryResult,
    SmsMessage,
    censor,
)
from twostep.delivery.vonage import SPEC, Vonage, needs_unicode

pytestmark = pytest.mark.anyio

KEY = "a1b2c3d4"
SECRET = "vonage-api-secret-0123456789"
SMS = SmsMessage(to="+447700900123", body="Your code is 123456", idempotency_key="key-1")


@pytest.fixture
def fake() -> Iterator[FakeHttp]:
    with FakeHttp(VonageApi(KEY, SECRET)) as server:
        yield server


def vonage(http: httpx.AsyncClient, base_url: str, *, secret: str = SECRET) -> Vonage:
    config = {"api_key": KEY, "api_secret": secret, "from_name": "TwoStep", "base_url": base_url}
    return Vonage(SPEC.validate(config), http, timeout=2)


async def test_sms_posts_the_documented_form(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    result = await vonage(http, fake.url).send_sms(SMS)

    assert result.ok
    assert uuid.UUID(result.detail)  # the message-id Vonage answered with
    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == "/sms/json"
    assert request.form() == {
        "api_key": KEY,
        "api_secret": SECRET,
        "from": "TwoStep",
        "to": "447700900123",  # digits only, no "+"
        "text": SMS.body,
        "client-ref": "key-1",
    }


@pytest.mark.parametrize(
    ("text", "unicode"),
    [
        ("Your code is 123456", False),
        ("Código: 123456 — ok", True),  # the em dash is not in GSM 03.38
        ("Kod: 123456 ÄÖÑÜ é € [x]", False),  # default alphabet and extension table
        ("Код: 123456", True),
        ("验证码 123456", True),
    ],
)
async def test_unicode_type_only_when_needed(
    fake: FakeHttp, http: httpx.AsyncClient, text: str, unicode: bool
) -> None:
    assert needs_unicode(text) is unicode
    message = SmsMessage(to="+447700900123", body=text, idempotency_key="k")
    assert (await vonage(http, fake.url).send_sms(message)).ok
    form = fake.requests[0].form()
    assert form["text"] == text
    assert form.get("type") == ("unicode" if unicode else None)


async def test_long_text_is_several_parts_named_by_the_first(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    message = SmsMessage(to="+447700900123", body="x" * 400, idempotency_key="k")
    result = await vonage(http, fake.url).send_sms(message)
    assert result.ok
    assert uuid.UUID(result.detail)


async def test_refused_credentials_are_retryable(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    result = await vonage(http, fake.url, secret="not-the-secret").send_sms(SMS)
    assert result == DeliveryResult(
        ok=False, provider="vonage", retry=True, detail="status 4: Bad Credentials"
    )


def status(code: str, text: str) -> Reply:
    return VonageApi.status(code, text)


@pytest.mark.parametrize(
    ("code", "retry"),
    [
        ("1", True),  # throttled
        ("2", True),  # missing parameters
        ("3", False),  # invalid parameters (the number)
        ("5", True),  # internal error
        ("6", False),  # invalid message
        ("7", False),  # number barred
        ("9", True),  # out of credit: another provider still delivers
        ("12", False),  # message too long
        ("15", True),  # invalid sender address: ours
        ("29", True),  # non-whitelisted destination: our account's limits
        ("33", False),  # number de-activated
        ("99", True),  # unknown: not worth giving up on
    ],
)
async def test_status_classes(
    fake: FakeHttp, http: httpx.AsyncClient, code: str, retry: bool
) -> None:
    fake.queue(status(code, "refused"))
    result = await vonage(http, fake.url).send_sms(SMS)
    assert result == DeliveryResult(
        ok=False, provider="vonage", retry=retry, detail=f"status {code}: refused"
    )


async def test_one_refused_part_fails_the_message(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    parts = [{"status": "0", "message-id": "a"}, {"status": "7", "error-text": "Barred"}]
    fake.queue(Reply(200, {"message-count": "2", "messages": parts}))
    result = await vonage(http, fake.url).send_sms(SMS)
    assert result.retry is False
    assert result.detail == "status 7: Barred"


@pytest.mark.parametrize(("http_status", "retry"), [(500, True), (429, True), (400, False)])
async def test_http_errors(
    fake: FakeHttp, http: httpx.AsyncClient, http_status: int, retry: bool
) -> None:
    fake.queue(Reply(http_status, {"type": "about:blank", "title": "Oops"}))
    result = await vonage(http, fake.url).send_sms(SMS)
    assert result == DeliveryResult(
        ok=False, provider="vonage", retry=retry, detail=f"HTTP {http_status} Oops"
    )


async def test_unexpected_answer_is_retryable(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    fake.queue(Reply(200, "<html>proxy error</html>"))
    result = await vonage(http, fake.url).send_sms(SMS)
    assert result.retry is True
    assert not result.ok


async def test_secret_echoed_by_the_service_is_blotted_out(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    fake.queue(status("2", f"Missing from param; got api_secret={SECRET}"))
    result = await vonage(http, fake.url).send_sms(SMS)
    assert SECRET not in result.detail
    assert CENSORED in result.detail


async def test_nothing_listening_and_timeouts_are_retryable(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    down = await vonage(http, closed_port_url()).send_sms(SMS)
    assert down.retry is True
    assert down.detail.startswith("network error")
    fake.queue(Reply(200, {"messages": [{"status": "0"}]}, delay=1.0))
    config = {"api_key": KEY, "api_secret": SECRET, "from_name": "x", "base_url": fake.url}
    slow = await Vonage(config, http, timeout=0.2).send_sms(SMS)
    assert slow.retry is True
    assert slow.detail.startswith("timeout")


def test_configuration() -> None:
    with pytest.raises(ConfigProblem, match="from_name is required"):
        SPEC.validate({"api_key": KEY, "api_secret": SECRET})
    values = SPEC.validate({"api_key": KEY, "api_secret": SECRET, "from_name": "TwoStep"})
    assert values["base_url"] == "https://rest.nexmo.com"
    assert SPEC.channels == ("sms",)
    assert censor(SPEC, values)["api_secret"] == CENSORED
    assert censor(SPEC, values)["api_key"] == KEY
