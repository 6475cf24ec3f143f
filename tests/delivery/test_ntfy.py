from __future__ import annotations

from collections.abc import Iterator
from email.header import decode_header

import httpx
import pytest

from tests.delivery.fake_apis import NtfyApi
from tests.delivery.fakes import FakeHttp, Reply, closed_port_url
from twostep.delivery._http import parse_hosts, url_allowed
from twostep.delivery.base import CENSORED, ConfigProblem, DeliveryResult, PushMessage, censor
from twostep.delivery.ntfy import SPEC, Ntfy

pytestmark = pytest.mark.anyio

TOKEN = "tk_ntfyaccesstoken0123456789"


@pytest.fixture
def fake() -> Iterator[FakeHttp]:
    with FakeHttp(NtfyApi(TOKEN)) as server:
        yield server


def ntfy(http: httpx.AsyncClient, url: str, **overrides: str) -> Ntfy:
    host = url.split("://", 1)[1]
    config = {"token": TOKEN, "allowed_hosts": host, "allow_http": "true", **overrides}
    return Ntfy(SPEC.validate(config), http, timeout=2)


def message(address: str, title: str = "Sign-in request") -> PushMessage:
    return PushMessage(
        address=address,
        title=title,
        body="Approve the sign-in to Example?",
        data={"approval": "abc"},
        idempotency_key="p1",
    )


async def test_push_posts_the_body_with_a_title(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    result = await ntfy(http, fake.url).push(message(f"ntfy:{fake.url}/twostep-abc"))

    assert result == DeliveryResult(ok=True, provider="ntfy", detail="hwQ2YpKdmg")
    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == "/twostep-abc"
    assert request.body == b"Approve the sign-in to Example?"
    assert request.headers["title"] == "Sign-in request"
    assert request.headers["priority"] == "high"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_non_ascii_title_is_an_encoded_word(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    title = "Demande de connexion — 登录"
    assert (await ntfy(http, fake.url).push(message(f"ntfy:{fake.url}/t", title))).ok
    [(raw, charset)] = decode_header(fake.requests[0].headers["title"])
    assert isinstance(raw, bytes)
    assert raw.decode(charset or "ascii") == title


@pytest.mark.parametrize(
    "address",
    [
        "ntfy:https://evil.invalid/topic",  # not an allowed host
        "ntfy:http://127.0.0.1:1/topic",  # allowed host name, other port
        "fcm:token",  # not an ntfy address at all
        "ntfy:file:///etc/passwd",
    ],
)
async def test_only_allowed_hosts_are_posted_to(
    fake: FakeHttp, http: httpx.AsyncClient, address: str
) -> None:
    result = await ntfy(http, fake.url).push(message(address))
    assert result.retry is False
    assert not result.ok
    assert fake.requests == []


async def test_plain_http_needs_allow_http(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    result = await ntfy(http, fake.url, allow_http="false").push(message(f"ntfy:{fake.url}/t"))
    assert result.retry is False
    assert fake.requests == []


async def test_refused_token_is_retryable_and_not_echoed(
    fake: FakeHttp, http: httpx.AsyncClient
) -> None:
    result = await ntfy(http, fake.url, token="tk_wrongtoken").push(message(f"ntfy:{fake.url}/t"))
    assert result == DeliveryResult(
        ok=False, provider="ntfy", retry=True, detail="HTTP 401: unauthorized"
    )


@pytest.mark.parametrize(
    ("status", "retry"), [(429, True), (500, True), (507, True), (413, False), (400, False)]
)
async def test_failure_classes(
    fake: FakeHttp, http: httpx.AsyncClient, status: int, retry: bool
) -> None:
    fake.queue(Reply(status, {"code": status * 100, "http": status, "error": f"no {TOKEN}"}))
    result = await ntfy(http, fake.url).push(message(f"ntfy:{fake.url}/t"))
    assert result == DeliveryResult(
        ok=False, provider="ntfy", retry=retry, detail=f"HTTP {status}: no {CENSORED}"
    )


async def test_network_failure_and_timeout(fake: FakeHttp, http: httpx.AsyncClient) -> None:
    down_url = closed_port_url()
    down = await ntfy(http, down_url).push(message(f"ntfy:{down_url}/t"))
    assert down.retry is True
    assert down.detail == "network error (ConnectError)"
    fake.queue(Reply(200, {"id": "x"}, delay=1.0))
    config = SPEC.validate({"allowed_hosts": fake.url.split("://")[1], "allow_http": "true"})
    slow = await Ntfy(config, http, timeout=0.2).push(message(f"ntfy:{fake.url}/t"))
    assert slow.retry is True
    assert slow.detail.startswith("timeout")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://ntfy.sh/topic", True),
        ("https://NTFY.sh/topic", True),
        ("http://ntfy.sh/topic", False),
        ("https://user:pw@ntfy.sh/topic", False),
        ("https://ntfy.sh.evil.example/topic", False),
        ("https://push.example.com/topic", True),
        ("https://example.com/topic", False),
        ("https://lan.box:8443/topic", True),
        ("https://lan.box/topic", False),
        ("https://ntfy.sh:99999/topic", False),
    ],
)
def test_url_allowed(url: str, allowed: bool) -> None:
    hosts = parse_hosts("ntfy.sh, .example.com ,lan.box:8443")
    assert url_allowed(url, hosts, allow_http=False) is allowed


async def test_configuration(http: httpx.AsyncClient) -> None:
    values = SPEC.validate({})
    assert values == {"token": "", "allowed_hosts": "ntfy.sh", "allow_http": "false"}
    with pytest.raises(ConfigProblem, match="allow_http"):
        Ntfy({**values, "allow_http": "perhaps"}, http)
    assert censor(SPEC, {"token": TOKEN})["token"] == CENSORED
