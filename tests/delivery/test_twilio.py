from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest

from tests.delivery.fake_apis import TwilioApi
from tests.delivery.fakes import FakeHttp, Reply, closed_port_url
from twostep.delivery.base import CENSORED, ConfigProblem, SmsMessage, VoiceMessage, censor
from twostep.delivery.twilio import SPEC, Twilio, say_language, twiml_say

pytestmark = pytest.mark.anyio

SID = "AC" + "1" * 32
TOKEN = "twilio-auth-token-0123456789abcdef"
SMS = SmsMessage(to="+14155550100", body="Your code is 123456", idempotency_key="k1")


@pytest.fixture
def fake() -> Iterator[FakeHttp]:
    with FakeHttp(TwilioApi(SID, TOKEN)) as server:
        yield server


def twilio(http: httpx.AsyncClient, base_url: str, **overrides: str) -> Twilio:
    config = {"account_sid": SID, "auth_token": TOKEN, "from_number": "+15005550006"}
    return Twilio(SPEC.validate({**config, "base_url": base_url, **overrides}), http, timeout=2)


async def test_sms_posts_the_documented_form_with_basic_auth(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    result = await twilio(http, fake.url).send_sms(SMS)

    assert result.ok
    assert result.provider == "twilio"
    assert result.detail.startswith("SM")
    assert len(result.detail) == 34
    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(
        f"{SID}:{TOKEN}".encode()
    ).decode("ascii")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"To": "+14155550100", "From": "+15005550006", "Body": SMS.body}


async def test_sms_through_a_messaging_service_sends_no_from(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    provider = twilio(http, fake.url, from_number="", messaging_service_sid="MG" + "2" * 32)
    assert (await provider.send_sms(SMS)).ok
    assert fake.requests[0].form() == {
        "To": "+14155550100",
        "Body": SMS.body,
        "MessagingServiceSid": "MG" + "2" * 32,
    }


async def test_call_sends_escaped_twiml_in_the_mapped_language(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    text = 'Tu código es 1 2 3. <Hangup/> & "adiós"'
    message = VoiceMessage(to="+34600000000", text=text, language="es", idempotency_key="k2")

    result = await twilio(http, fake.url).call(message)

    assert result.ok
    assert result.detail.startswith("CA")
    [request] = fake.requests
    assert request.path == f"/2010-04-01/Accounts/{SID}/Calls.json"
    form = request.form()
    assert form["To"] == "+34600000000"
    assert form["From"] == "+15005550006"
    root = ET.fromstring(form["Twiml"])
    assert root.tag == "Response"
    [say] = list(root)
    assert say.tag == "Say"
    assert say.attrib == {"language": "es-ES"}
    assert say.text == text  # the markup inside the text stayed text: no <Hangup> verb
    assert list(say) == []


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("zh-cn", "zh-CN"),
        ("zh-hk", "zh-HK"),
        ("pt", "pt-BR"),
        ("nb", "nb-NO"),
        ("en", "en-US"),
        ("de", "de-DE"),
        ("ja", "ja-JP"),
        ("pt_PT", "pt-PT"),
    ],
)
def test_say_language(locale: str, language: str) -> None:
    assert say_language(locale) == language


def test_twiml_escapes_attribute_and_text() -> None:
    twiml = twiml_say("a < b & c", 'x" onload="y')
    say = ET.fromstring(twiml)[0]
    assert say.text == "a < b & c"
    assert set(say.attrib) == {"language"}


async def test_invalid_recipient_is_not_retried(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    message = SmsMessage(to="+1 not a number", body="x", idempotency_key="k3")
    result = await twilio(http, fake.url).send_sms(message)
    assert not result.ok
    assert result.retry is False
    assert "21211" in result.detail
    assert "Invalid 'To' Phone Number" in result.detail


async def test_refused_credentials_are_retryable_and_never_echoed(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    provider = twilio(http, fake.url, auth_token="wrong-token-value")
    result = await provider.send_sms(SMS)
    assert not result.ok
    assert result.retry is True
    assert "20003" in result.detail
    assert "wrong-token-value" not in result.detail


@pytest.mark.parametrize(
    ("status", "code", "retry"),
    [
        (500, 20500, True),
        (503, 20503, True),
        (429, 20429, True),
        (400, 21610, False),  # the recipient replied STOP
        (400, 21614, False),  # not a mobile number
        (400, 21408, True),  # region not enabled on our account: another provider may have it
        (404, 20404, True),
    ],
)
async def test_failure_classes(
    fake: FakeHttp, http: httpx.AsyncClient, status: int, code: int, retry: bool
) -> None:
    fake.queue(Reply(status, {"code": code, "message": "refused", "status": status}))
    result = await twilio(http, fake.url).send_sms(SMS)
    assert not result.ok
    assert result.retry is retry
    assert result.detail == f"HTTP {status} error {code}: refused"


async def test_secret_echoed_by_the_service_is_blotted_out(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    fake.queue(Reply(400, {"code": 21211, "message": f"bad request from {TOKEN}"}))
    result = await twilio(http, fake.url).send_sms(SMS)
    assert TOKEN not in result.detail
    assert CENSORED in result.detail


async def test_redirects_are_not_followed(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    fake.queue(Reply(302, headers={"location": f"{fake.url}/elsewhere"}))
    result = await twilio(http, fake.url).send_sms(SMS)
    assert not result.ok
    assert len(fake.requests) == 1


async def test_nothing_listening_is_retryable(http: httpx.AsyncClient) -> None:
    result = await twilio(http, closed_port_url()).send_sms(SMS)
    assert not result.ok
    assert result.retry is True
    assert result.detail.startswith("network error")


async def test_timeout_is_retryable(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    fake.queue(Reply(201, {"sid": "SMlate"}, delay=1.0))
    config = {"account_sid": SID, "auth_token": TOKEN, "from_number": "+1", "base_url": fake.url}
    provider = Twilio(SPEC.validate(config), http, timeout=0.2)
    result = await provider.send_sms(SMS)
    assert not result.ok
    assert result.retry is True
    assert result.detail.startswith("timeout")


async def test_configuration(http: httpx.AsyncClient) -> None:
    with pytest.raises(ConfigProblem, match="auth_token is required"):
        SPEC.validate({"account_sid": SID, "from_number": "+1"})
    with pytest.raises(ConfigProblem, match="unknown setting"):
        SPEC.validate({"account_sid": SID, "auth_token": TOKEN, "api_key": "x"})
    values = SPEC.validate({"account_sid": SID, "auth_token": TOKEN})
    assert values["base_url"] == "https://api.twilio.com"
    with pytest.raises(ConfigProblem, match="from_number or messaging_service_sid"):
        SPEC.factory(values, http)
    with pytest.raises(ConfigProblem, match="base_url"):
        SPEC.factory({**values, "from_number": "+1", "base_url": "ftp://x"}, http)
    assert SPEC.secret_fields == {"auth_token"}
    assert censor(SPEC, {"account_sid": SID, "auth_token": TOKEN}) == {
        "account_sid": SID,
        "auth_token": CENSORED,
    }
