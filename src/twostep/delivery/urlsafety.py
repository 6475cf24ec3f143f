"""Outbound URL safety for customer callbacks and webhooks: check a URL before EVERY send, then
connect to the very address that was checked.

``check`` parses the URL (https, or http when allowed; no credentials), refuses metadata host
names, resolves the host and refuses it if ANY address is not globally routable (loopback,
private, link-local, CGNAT, unique-local, multicast, reserved, unspecified; IPv4 embedded in
IPv6 is judged as IPv4) unless the address lies in an operator allow-list. It returns a
``Target`` naming the address to use.

``PinnedSender.send`` then pins the connection to that address, so DNS rebinding cannot swap it
after the check: the request goes to a URL whose host is the IP literal, with ``Host`` set to the
original ``host[:port]``; for https the original host name goes in httpcore's ``sni_hostname``
request extension, which httpcore passes as ``server_hostname`` to the TLS handshake
(``httpcore/_async/connection.py`` ``_connect`` → ``start_tls`` → anyio ``TLSStream.wrap`` →
``SSLContext.wrap_bio(server_hostname=...)``): it is sent as SNI and the certificate is verified
against it, not against the IP. Each request has a connection of its own (see PinnedSender),
redirects are never followed, the whole exchange is bounded by a deadline and the response body
is never read."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

# Cloud instance-metadata services by name; their addresses are refused anyway (link-local),
# the names are refused even if an operator allow-lists the network they resolve to.
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.platformequinix.com",
        "metadata.packet.net",
    }
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeUrl(ValueError):
    """The URL may not be called: a permanent refusal. The message names the host, never the
    path or query (those may be capabilities)."""


class ResolveError(OSError):
    """The host name did not resolve (now): worth retrying later."""


@dataclass(frozen=True, slots=True)
class Policy:
    allow_http: bool = False
    allowed_networks: tuple[Network, ...] = ()


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL and the address it must be reached at."""

    url: str  # as given
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, lower case, without brackets
    port: int
    ip: str  # the checked address to connect to
    host_header: str  # the original host[:port], port only when the URL spelled it

    @property
    def pinned_url(self) -> httpx.URL:
        """The URL with the checked IP literal in place of the host name."""
        return httpx.URL(self.url).copy_with(host=self.ip, port=self.port)


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """Operator allow-list entries ("127.0.0.0/8", "fd12::/16", "10.1.2.3"); raises ValueError."""
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def normalize(address: str) -> IPAddress:
    """The address to judge and connect to: scope id dropped, IPv4-mapped IPv6 as IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _kind(ip: IPAddress) -> str | None:
    """Why the address is not publicly routable, or None when it is."""
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-global", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return name
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and _kind(inner) is not None:
            return f"embeds {_kind(inner)} IPv4"
    return None


def refusal(ip: IPAddress, allowed: tuple[Network, ...]) -> str | None:
    """None if the address may be called, else the reason (e.g. "loopback")."""
    if any(ip.version == net.version and ip in net for net in allowed):
        return None
    return _kind(ip)


def resolve(host: str, port: int) -> list[str]:
    """All addresses of ``host`` (blocking: call from a worker thread)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolveError(f"cannot resolve {host}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _parse(url: str, policy: Policy) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        explicit_port = parts.port
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        raise UnsafeUrl("not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and policy.allow_http):
        raise UnsafeUrl("only https URLs are allowed" if not policy.allow_http else "not http(s)")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeUrl("URLs must not carry credentials")
    hostname = (parts.hostname or "").rstrip(".")
    # Both parsers must agree on the host: a URL read differently by two parsers is refused.
    if not hostname or hostname != parsed.host.lower().rstrip("."):
        raise UnsafeUrl("the URL has no unambiguous host")
    host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    if host in METADATA_HOSTS:
        raise UnsafeUrl(f"{host} is a cloud metadata service")
    port = _DEFAULT_PORTS[scheme] if explicit_port is None else explicit_port
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if explicit_port is None else f"{shown}:{explicit_port}"
    return scheme, host, port, host_header


def check_url(url: str, policy: Policy, *, resolver: Resolver | None = None) -> Target:
    """Check ``url`` (blocking: resolves the host). Raises UnsafeUrl or ResolveError."""
    scheme, host, port, host_header = _parse(url, policy)
    addresses = (resolver or resolve)(host, port)
    if not addresses:
        raise ResolveError(f"cannot resolve {host}")
    chosen: IPAddress | None = None
    for address in addresses:
        try:
            ip = normalize(address)
        except ValueError:
            raise UnsafeUrl(f"{host} resolves to an unusable address") from None
        reason = refusal(ip, policy.allowed_networks)
        if reason is not None:
            raise UnsafeUrl(f"{host} resolves to {ip} ({reason} address)")
        chosen = chosen or ip
    assert chosen is not None
    return Target(url, scheme, host, port, str(chosen), host_header)


async def check(url: str, policy: Policy, *, seconds: float) -> Target:
    """``check_url`` from async code: name resolution runs in a worker thread, bounded by
    ``seconds`` (TimeoutError)."""
    with anyio.fail_after(seconds):
        return await anyio.to_thread.run_sync(
            lambda: check_url(url, policy), abandon_on_cancel=True
        )


class PinnedSender:
    """Sends requests to checked targets, each over a connection of its own.

    Deliberately not the worker's shared client: its pool is keyed by (scheme, IP, port), so a
    pooled connection whose certificate was verified for one host name would carry a request for
    another name on the same address (HTTP/2 multiplexes them; keep-alive reuses them), and its
    cookie jar would carry one customer's cookies to another. Here: HTTP/1.1 only, no keep-alive
    (and ``Connection: close``), no environment proxies, no cookies, no redirects, no retries."""

    def __init__(self, verify: ssl.SSLContext | None = None) -> None:
        self._transport = httpx.AsyncHTTPTransport(
            verify=verify if verify is not None else httpx.create_ssl_context(),
            http1=True,
            http2=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
            trust_env=False,
            retries=0,
        )

    @staticmethod
    def request(
        target: Target,
        method: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None,
        seconds: float,
    ) -> httpx.Request:
        """The request to the pinned address; for https, ``sni_hostname`` is the host name."""
        extensions: dict[str, Any] = {"timeout": httpx.Timeout(seconds).as_dict()}
        if target.scheme == "https":
            extensions["sni_hostname"] = target.host
        return httpx.Request(
            method,
            target.pinned_url,
            headers={**headers, "Host": target.host_header, "Connection": "close"},
            content=content,
            extensions=extensions,
        )

    async def send(
        self,
        target: Target,
        method: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
        seconds: float,
    ) -> int:
        """Send to the pinned address and return the response status (the body is not read).
        Raises httpx.HTTPError for network trouble and TimeoutError past ``seconds`` in all."""
        request = self.request(target, method, headers=headers, content=content, seconds=seconds)
        with anyio.fail_after(seconds):
            response = await self._transport.handle_async_request(request)
            await response.aclose()
        return response.status_code

    async def aclose(self) -> None:
        await self._transport.aclose()
