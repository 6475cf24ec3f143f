from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.delivery.fake_apis import TwilioApi, VonageApi
from tests.delivery.fakes import FakeHttp, Reply
from twostep.delivery import ntfy, smtp, twilio, vonage
from twostep.delivery.base import (
    CENSORED,
    ConfigProblem,
    DeliveryResult,
    PushMessage,
    SmsMessage,
    VoiceMessage,
)
from twostep.delivery.router import Route

pytestmark = pytest.mark.anyio

SMS = SmsMessage(to="+14155550100", body="Code 123456", idempotency_key="k")


class Stub:
    """A provider that answers with the given results in turn and notes that it was asked."""

    def __init__(
        self,
        name: str,
        *results: DeliveryResult | Exception,
        schemes: tuple[str, ...] = (),
        log: list[str] | None = None,
    ) -> None:
        self.name = name
        self.schemes = schemes
        self.results = list(results)
        self.log = log if log is not None else []

    def _next(self) -> DeliveryResult:
        self.log.append(self.name)
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    async def send_sms(self, message: SmsMessage) -> DeliveryResult:
        return self._next()

    async def call(self, message: VoiceMessage) -> DeliveryResult:
        return self._next()

    async def push(self, message: PushMessage) -> DeliveryResult:
        return self._next()


def ok(name: str) -> DeliveryResult:
    return DeliveryResult(ok=True, provider=name, detail=f"{name}-id")


def failed(name: str, *, retry: bool) -> DeliveryResult:
    return DeliveryResult(ok=False, provider=name, retry=retry, detail=f"{name} failed")


async def test_failover_tries_providers_in_order_until_one_delivers() -> None:
    log: list[str] = []
    route = Route(
        "sms",
        [
            Stub("a", failed("a", retry=True), log=log),
            Stub("b", failed("b", retry=True), log=log),
            Stub("c", ok("c"), log=log),
            Stub("d", ok("d"), log=log),
        ],
    )
    assert await route.send_sms(SMS) == ok("c")
    assert log == ["a", "b", "c"]


async def test_a_final_failure_stops_the_walk() -> None:
    log: list[str] = []
    route = Route(
        "voice",
        [Stub("a", failed("a", retry=False), log=log), Stub("b", ok("b"), log=log)],
    )
    message = VoiceMessage(to="+1", text="t", language="en", idempotency_key="k")
    assert await route.call(message) == failed("a", retry=False)
    assert log == ["a"]


async def test_when_all_fail_the_last_result_is_returned() -> None:
    route = Route("sms", [Stub("a", failed("a", retry=True)), Stub("b", failed("b", retry=True))])
    assert await route.send_sms(SMS) == failed("b", retry=True)


async def test_no_provider() -> None:
    result = await Route("sms", []).send_sms(SMS)
    assert result == DeliveryResult(
        ok=False, provider="", retry=False, detail="no provider configured"
    )


async def test_a_provider_that_raises_counts_as_a_retryable_failure() -> None:
    route = Route("sms", [Stub("buggy", RuntimeError("secret-ish internals")), Stub("b", ok("b"))])
    assert await route.send_sms(SMS) == ok("b")
    only = Route("sms", [Stub("buggy", RuntimeError("secret-ish internals"))])
    assert await only.send_sms(SMS) == DeliveryResult(
        ok=False, provider="buggy", retry=True, detail="error (RuntimeError)"
    )


async def test_secrets_are_scrubbed_from_every_result() -> None:
    leaky = DeliveryResult(ok=False, provider="a", retry=False, detail="auth hunter2hunter2 bad")
    route = Route("sms", [Stub("a", leaky)], secrets=["hunter2hunter2", ""])
    assert (await route.send_sms(SMS)).detail == f"auth {CENSORED} bad"


def wake(address: str) -> PushMessage:
    return PushMessage(address=address, title="t", body="b", data={}, idempotency_key="k")


async def test_push_goes_to_the_providers_of_the_address_scheme() -> None:
    log: list[str] = []
    route = Route(
        "push",
        [
            Stub("fcm", ok("fcm"), schemes=("fcm",), log=log),
            Stub("apns", ok("apns"), schemes=("apns",), log=log),
            Stub("apns-backup", ok("apns-backup"), schemes=("apns",), log=log),
        ],
    )
    assert await route.push(wake("apns:abcd")) == ok("apns")
    assert log == ["apns"]


async def test_push_failover_stays_within_the_scheme() -> None:
    log: list[str] = []
    route = Route(
        "push",
        [
            Stub("fcm", ok("fcm"), schemes=("fcm",), log=log),
            Stub("apns", failed("apns", retry=True), schemes=("apns",), log=log),
            Stub("apns-backup", ok("apns-backup"), schemes=("apns",), log=log),
        ],
    )
    assert await route.push(wake("APNS:abcd")) == ok("apns-backup")
    assert log == ["apns", "apns-backup"]


async def test_push_to_an_unknown_scheme() -> None:
    route = Route("push", [Stub("fcm", ok("fcm"), schemes=("fcm",))])
    result = await route.push(wake("carrier-pigeon:coop-7"))
    assert result == DeliveryResult(
        ok=False, provider="", retry=False, detail="no push provider for 'carrier-pigeon' addresses"
    )


async def test_a_route_serves_its_channel_only() -> None:
    with pytest.raises(TypeError, match="delivers sms"):
        await Route("sms", [Stub("a", ok("a"))]).push(wake("fcm:x"))
    with pytest.raises(ConfigProblem, match="channel"):
        Route("fax", [])


async def test_build_validates_and_collects_secrets(http: httpx.AsyncClient) -> None:
    config = {"account_sid": "AC1", "auth_token": "tw-token-1234", "from_number": "+1"}
    route = Route.build(
        "sms",
        [
            (twilio.SPEC, config),
            (vonage.SPEC, {"api_key": "k", "api_secret": "vn-secret-5678", "from_name": "x"}),
        ],
        http,
    )
    assert [p.name for p in route.providers] == ["twilio", "vonage"]  # type: ignore[attr-defined]
    assert route.secrets == {"tw-token-1234", "vn-secret-5678"}
    with pytest.raises(ConfigProblem, match="smtp does not deliver sms"):
        Route.build("sms", [(smtp.SPEC, {})], http)
    with pytest.raises(ConfigProblem, match="auth_token is required"):
        Route.build("voice", [(twilio.SPEC, {"account_sid": "AC1"})], http)
    push = Route.build("push", [(ntfy.SPEC, {})], http)
    assert push.secrets == frozenset()  # an unset optional secret is nothing to scrub


@pytest.fixture
def twilio_fake() -> Iterator[FakeHttp]:
    with FakeHttp(TwilioApi("AC1", "tw-token-1234")) as server:
        yield server


@pytest.fixture
def vonage_fake() -> Iterator[FakeHttp]:
    with FakeHttp(VonageApi("k", "vn-secret-5678")) as server:
        yield server


def real_route(http: httpx.AsyncClient, twilio_url: str, vonage_url: str) -> Route:
    twilio_config = {
        "account_sid": "AC1",
        "auth_token": "tw-token-1234",
        "from_number": "+15005550006",
        "base_url": twilio_url,
    }
    vonage_config = {
        "api_key": "k",
        "api_secret": "vn-secret-5678",
        "from_name": "x",
        "base_url": vonage_url,
    }
    return Route.build("sms", [(twilio.SPEC, twilio_config), (vonage.SPEC, vonage_config)], http)


async def test_real_providers_fail_over_on_an_outage(
    twilio_fake: FakeHttp, vonage_fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    twilio_fake.queue(Reply(503, {"code": 20503, "message": "Service unavailable"}))
    result = await real_route(http, twilio_fake.url, vonage_fake.url).send_sms(SMS)
    assert result.ok
    assert result.provider == "vonage"
    assert len(twilio_fake.requests) == 1
    assert len(vonage_fake.requests) == 1


async def test_real_providers_stop_on_a_bad_number(
    twilio_fake: FakeHttp, vonage_fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    bad = SmsMessage(to="+1 555 CALL NOW", body="x", idempotency_key="k")
    result = await real_route(http, twilio_fake.url, vonage_fake.url).send_sms(bad)
    assert result.provider == "twilio"
    assert result.retry is False
    assert vonage_fake.requests == []


async def test_lines_of_a_multi_line_secret_are_scrubbed_too() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\nAwEHBG0wawIBAQQgevZzL1gdAFr88hb2\n"
    echoed = "bad key line MIGHAgEAMBMGByqGSM49AgEGCCqGSM49 at\r\noffset 3" + "!" * 400
    leaky = DeliveryResult(ok=False, provider="a", retry=False, detail=echoed)
    route = Route("sms", [Stub("a", leaky)], secrets=[pem])
    detail = (await route.send_sms(SMS)).detail
    assert detail.startswith(f"bad key line {CENSORED} at offset 3!!!")
    assert "MIGHAgEA" not in detail
    assert len(detail) == 300  # bounded, on one line
