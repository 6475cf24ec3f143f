"""Outbound URL safety: every class of address that must never be called, the allow-list, and
proof that the request goes to the checked address (pinning) with the original Host and SNI."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.callback_support import Answer, Receiver
from tests.delivery.fakes import FakeHttp, Reply, Tls
from twostep.delivery import urlsafety
from twostep.delivery.urlsafety import PinnedSender, Policy, ResolveError, UnsafeUrl, check_url

OPEN_HTTP = Policy(allow_http=True)
LOCAL = Policy(allow_http=True, allowed_networks=urlsafety.parse_networks(["127.0.0.0/8"]))


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A fake resolver: names map to address lists; IP literals resolve to themselves."""
    table: dict[str, list[str]] = {}

    def resolve(host: str, _port: int) -> list[str]:
        if host in table:
            return table[host]
        try:
            urlsafety.normalize(host)
        except ValueError:
            raise ResolveError(f"cannot resolve {host}") from None
        return [host]

    monkeypatch.setattr(urlsafety, "resolve", resolve)
    return table


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("[::1]", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("[fe80::1]", "link-local"),
        ("[fd00::1]", "private"),
        ("[fd12:3456::7]", "private"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("[::ffff:10.0.0.1]", "private"),
        ("100.64.0.1", "non-global"),
        ("100.127.255.254", "non-global"),
        ("0.0.0.0", "unspecified"),
        ("[::]", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("[ff02::1]", "multicast"),
        ("240.0.0.1", "private"),
        ("255.255.255.255", "private"),
        ("198.18.0.1", "private"),
        ("[2001:db8::1]", "private"),
        ("[2002:a00:1::]", "embeds private IPv4"),  # 6to4 of 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused(host: str, kind: str) -> None:
    with pytest.raises(UnsafeUrl, match=rf"\({kind} address\)"):
        check_url(f"http://{host}:8080/cb", OPEN_HTTP)


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "[64:ff9b::a00:1]", "[::127.0.0.1]"])
def test_odd_spellings_of_private_addresses_are_refused(host: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_url(f"https://{host}/cb", OPEN_HTTP)


def test_public_addresses_are_checked_and_chosen() -> None:
    target = check_url("https://8.8.8.8/cb?x=1", Policy())
    assert (target.ip, target.host, target.port, target.host_header) == (
        "8.8.8.8",
        "8.8.8.8",
        443,
        "8.8.8.8",
    )
    v6 = check_url("https://[2606:4700::1111]:8443/cb", Policy())
    assert (v6.ip, v6.host_header) == ("2606:4700::1111", "[2606:4700::1111]:8443")
    assert str(v6.pinned_url) == "https://[2606:4700::1111]:8443/cb"
    mapped = check_url("https://[::ffff:8.8.8.8]/", Policy())
    assert mapped.ip == "8.8.8.8"


def test_names_resolving_to_private_addresses_are_refused(dns: dict[str, list[str]]) -> None:
    dns["intranet.example"] = ["10.0.0.5"]
    dns["mixed.example"] = ["93.184.216.34", "127.0.0.1"]  # ANY bad address refuses
    dns["v6.example"] = ["fd00::5"]
    dns["good.example"] = ["93.184.216.34", "2606:2800:220:1::"]
    for name, shown in (
        ("intranet.example", "10.0.0.5"),
        ("mixed.example", "127.0.0.1"),
        ("v6.example", "fd00::5"),
    ):
        with pytest.raises(UnsafeUrl, match=f"{name} resolves to {shown}"):
            check_url(f"https://{name}/secret-path?token=abc", Policy())
    target = check_url("https://good.example/cb", Policy())
    assert (target.ip, target.host_header) == ("93.184.216.34", "good.example")


def test_refusals_never_show_the_path_query_or_credentials(dns: dict[str, list[str]]) -> None:
    dns["intranet.example"] = ["10.0.0.5"]
    for url in (
        "https://intranet.example/secret-path?token=abc",
        "https://admin:hunter2@good.example/secret-path",
        "http://good.example/secret-path?token=abc",
    ):
        with pytest.raises(UnsafeUrl) as refused:
            check_url(url, Policy())
        assert not {"secret", "token", "hunter2", "admin"} & set(str(refused.value).split())
        assert "secret" not in str(refused.value)


def test_unresolvable_names_are_a_retryable_error(dns: dict[str, list[str]]) -> None:
    dns["empty.example"] = []
    for url in ("https://empty.example/", "https://nowhere.example/"):
        with pytest.raises(ResolveError):
            check_url(url, Policy())


def test_http_only_when_allowed_and_no_other_scheme() -> None:
    with pytest.raises(UnsafeUrl, match="only https"):
        check_url("http://8.8.8.8/cb", Policy())
    assert check_url("http://8.8.8.8/cb", OPEN_HTTP).port == 80
    for url in ("ftp://8.8.8.8/x", "file:///etc/passwd", "gopher://8.8.8.8/", "//8.8.8.8/x"):
        with pytest.raises(UnsafeUrl):
            check_url(url, OPEN_HTTP)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@8.8.8.8/cb",
        "https://user@8.8.8.8/cb",
        "https://:pass@8.8.8.8/cb",
        "https://@8.8.8.8/cb",
        "http://8.8.8.8\\@127.0.0.1/cb",
        "http://127.0.0.1#@8.8.8.8/cb",
    ],
)
def test_credentials_and_ambiguous_hosts_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_url(url, OPEN_HTTP)


def test_the_allow_list_exempts_its_networks_only(dns: dict[str, list[str]]) -> None:
    assert check_url("http://127.0.0.1:9/cb", LOCAL).ip == "127.0.0.1"
    assert check_url("http://[::ffff:127.0.0.1]:9/cb", LOCAL).ip == "127.0.0.1"
    with pytest.raises(UnsafeUrl, match="private"):
        check_url("http://10.0.0.1/cb", LOCAL)
    with pytest.raises(UnsafeUrl, match="loopback"):
        check_url("http://[::1]/cb", LOCAL)
    v6 = Policy(allowed_networks=urlsafety.parse_networks(["::1/128", "10.0.0.0/8"]))
    assert check_url("https://[::1]/cb", v6).ip == "::1"
    assert check_url("https://10.9.8.7/cb", v6).ip == "10.9.8.7"
    with pytest.raises(ValueError, match="does not appear to be"):
        urlsafety.parse_networks(["not-a-network"])


@pytest.mark.parametrize(
    "host",
    ["metadata.google.internal", "METADATA.GOOGLE.INTERNAL.", "metadata.goog", "instance-data"],
)
def test_metadata_hosts_are_refused_even_when_allow_listed(
    dns: dict[str, list[str]], host: str
) -> None:
    dns[host.lower().rstrip(".")] = ["169.254.169.254"]
    everything = Policy(True, urlsafety.parse_networks(["0.0.0.0/0", "::/0"]))
    with pytest.raises(UnsafeUrl, match="metadata"):
        check_url(f"http://{host}/computeMetadata/v1/", everything)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
async def sender() -> AsyncIterator[PinnedSender]:
    pinned = PinnedSender()
    yield pinned
    await pinned.aclose()


@pytest.mark.anyio
async def test_the_request_goes_to_the_checked_address_with_the_original_host(
    dns: dict[str, list[str]], receiver: Receiver, sender: PinnedSender
) -> None:
    # The name does not exist: only the pinned IP can reach the receiver.
    dns["callbacks.example"] = ["127.0.0.1"]
    url = f"http://callbacks.example:{receiver.port}/cb?x=1"
    target = await urlsafety.check(url, LOCAL, seconds=5)
    dns["callbacks.example"] = ["10.66.66.66"]  # rebinding after the check changes nothing
    status = await sender.send(target, "POST", headers={"X-Test": "1"}, content=b"{}", seconds=5)
    assert status == 200
    [got] = receiver.received()
    assert got.headers["host"] == f"callbacks.example:{receiver.port}"
    assert (got.method, got.target, got.body) == ("POST", "/cb?x=1", b"{}")
    assert (got.headers["x-test"], got.headers["connection"]) == ("1", "close")
    assert "cookie" not in got.headers


@pytest.mark.anyio
async def test_redirects_are_not_followed_and_time_is_bounded(
    receiver: Receiver, sender: PinnedSender
) -> None:
    target = check_url(receiver.url(), LOCAL)
    receiver.queue(Answer(302))
    assert await sender.send(target, "GET", headers={}, seconds=5) == 302
    assert len(receiver.received()) == 1
    receiver.queue(Answer(200, delay=3))
    started = time.monotonic()
    with pytest.raises((TimeoutError, httpx.TimeoutException)):
        await sender.send(target, "GET", headers={}, seconds=0.5)
    assert time.monotonic() - started < 2


def test_sni_is_requested_for_https_only() -> None:
    secure = check_url("https://8.8.8.8:8443/cb", Policy())
    request = PinnedSender.request(secure, "POST", headers={}, content=b"", seconds=3)
    assert request.extensions["sni_hostname"] == "8.8.8.8"
    assert request.extensions["timeout"] == httpx.Timeout(3).as_dict()
    plain = check_url("http://8.8.8.8/cb", OPEN_HTTP)
    request = PinnedSender.request(plain, "GET", headers={}, content=None, seconds=3)
    assert "sni_hostname" not in request.extensions
    assert request.url.host == "8.8.8.8"


@pytest.mark.anyio
async def test_tls_uses_the_original_name_for_sni_and_the_certificate(
    dns: dict[str, list[str]], tls: Tls
) -> None:
    """The test certificate is valid for "localhost" and for the IP 127.0.0.1. Connecting to
    127.0.0.1 for "localhost" sends SNI "localhost" and verifies; for a name the certificate does
    not carry, verification fails although the certificate is valid for the IP connected to: the
    certificate is checked against the name, not the address."""
    dns["localhost"] = ["127.0.0.1"]
    dns["callbacks.example"] = ["127.0.0.1"]
    policy = Policy(allowed_networks=LOCAL.allowed_networks)
    sender = PinnedSender(verify=tls.client_context())
    with Receiver(tls=tls.server_context()) as receiver:
        good = check_url(receiver.url(host="localhost"), policy)
        assert good.ip == "127.0.0.1"
        assert await sender.send(good, "GET", headers={}, seconds=5) == 200
        [got] = receiver.received()
        assert (got.sni, got.headers["host"]) == ("localhost", f"localhost:{receiver.port}")

        wrong = check_url(receiver.url(host="callbacks.example"), policy)
        with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
            await sender.send(wrong, "GET", headers={}, seconds=5)
        assert len(receiver.received()) == 1

        # a plain request to the IP (no extension) sends no SNI at all
        async with httpx.AsyncClient(verify=tls.client_context()) as client:
            assert (await client.get(receiver.url())).status_code == 200
        assert receiver.received()[-1].sni is None
    await sender.aclose()


@pytest.mark.anyio
async def test_a_connection_verified_for_one_name_never_serves_another(
    dns: dict[str, list[str]], tls: Tls
) -> None:
    """Against an HTTP/2 server, a pooled client (the worker's shared one) would multiplex a
    request for another name over the connection verified for the first: the pinned sender opens
    a connection per request, speaks HTTP/1.1, and so verifies every name."""
    dns["localhost"] = ["127.0.0.1"]
    dns["callbacks.example"] = ["127.0.0.1"]
    policy = Policy(allowed_networks=LOCAL.allowed_networks)
    sender = PinnedSender(verify=tls.client_context())
    with FakeHttp(lambda _r: Reply(200), tls=tls) as server:
        good = check_url(f"https://localhost:{server.port}/a", policy)
        wrong = check_url(f"https://callbacks.example:{server.port}/b", policy)
        for _ in range(2):
            assert await sender.send(good, "GET", headers={}, seconds=5) == 200
            with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
                await sender.send(wrong, "GET", headers={}, seconds=5)
        assert [(r.path, r.http_version) for r in server.requests] == [("/a", "1.1")] * 2
    await sender.aclose()
