"""ntfy (ntfy.sh or a self-hosted server): the address is the topic URL, ``ntfy:<https URL>``, and a
push is one POST of the body text with a ``Title`` header.

Topic URLs come from devices, so only hosts on the configured allow-list are posted to, and the
optional access token goes nowhere else."""

from __future__ import annotations

import base64
from collections.abc import Mapping

import httpx

from twostep.delivery import _http
from twostep.delivery.base import ConfigField, DeliveryResult, ProviderSpec, PushMessage

NAME = "ntfy"
SCHEME = "ntfy"


def header_text(value: str) -> str:
    """ntfy reads RFC 2047 encoded words, which is how non-ASCII titles survive HTTP headers."""
    if value.isascii() and value.isprintable():
        return value
    return "=?UTF-8?B?" + base64.b64encode(value.encode()).decode() + "?="


class Ntfy:
    name = NAME
    schemes = (SCHEME,)

    def __init__(
        self,
        config: Mapping[str, str],
        http: httpx.AsyncClient,
        *,
        timeout: float = _http.DEFAULT_TIMEOUT,
    ) -> None:
        self._token = config.get("token", "")
        self._hosts = _http.parse_hosts(config.get("allowed_hosts") or "ntfy.sh")
        self._allow_http = _http.parse_bool(NAME, "allow_http", config.get("allow_http", "false"))
        self._http = http
        self._timeout = timeout

    async def push(self, message: PushMessage) -> DeliveryResult:
        scheme, _, url = message.address.partition(":")
        if scheme != SCHEME or not _http.url_allowed(url, self._hosts, allow_http=self._allow_http):
            return _http.failed(NAME, "topic URL is not on an allowed ntfy host", retry=False)
        headers = {"Title": header_text(message.title), "Priority": "high"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        response = await _http.post(
            self._http,
            NAME,
            url,
            seconds=self._timeout,
            content=message.body.encode(),
            headers=headers,
        )
        if isinstance(response, DeliveryResult):
            return response
        body = _http.json_body(response)
        if response.is_success:
            return DeliveryResult(ok=True, provider=NAME, detail=str(body.get("id", "")))
        # 401/403: the server refused our token, which may be fixed; 404, 413...: this push is wrong
        retry = _http.retry_for_status(response.status_code) or response.status_code in (401, 403)
        detail = f"HTTP {response.status_code}: {body.get('error', '')}"
        return _http.failed(NAME, detail, retry=retry, secrets=(self._token,))


def _factory(config: Mapping[str, str], http: httpx.AsyncClient) -> Ntfy:
    return Ntfy(config, http)


SPEC = ProviderSpec(
    name=NAME,
    channels=("push",),
    fields=(
        ConfigField("token", required=False, secret=True, help="access token for protected topics"),
        ConfigField(
            "allowed_hosts",
            required=False,
            default="ntfy.sh",
            help='comma-separated hosts ("host", "host:port", ".domain" for subdomains)',
        ),
        ConfigField(
            "allow_http",
            required=False,
            default="false",
            help="also post to plain http:// topic URLs (a LAN server)",
        ),
    ),
    factory=_factory,
)
