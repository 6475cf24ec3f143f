"""Request signatures of the Authy wire protocol. Pure: no I/O, no clock.

Two HMAC-SHA256 signatures, both Base64 of ``nonce|METHOD|url_without_query|params``:

* the OneTouch callback (``X-Authy-Signature``, keyed with the application API key), whose params
  are canonicalised like Rails' ``Hash#to_query`` because the original server was a Rails app and
  the eight real signatures only reproduce with its exact quirks;
* the webhooks-API request signature (keyed with the account's API Signing Key), whose params are
  a flat, case-sensitively sorted query string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeGuard

# Ruby's CGI.escape leaves exactly these bytes alone (and turns space into "+").
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def _escape(text: str) -> str:
    """Ruby ``CGI.escape``: UTF-8 percent-encoding with uppercase hex, space as ``+``."""
    out: list[str] = []
    # Lone surrogates (legal in JSON text) have no UTF-8 form; pass them through rather than fail.
    for byte in text.encode("utf-8", "surrogatepass"):
        if byte in _UNRESERVED:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def _ruby_float(value: float) -> str:
    """Ruby ``Float#to_s``: Python's shortest repr, but always with a fractional part."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)  # same fixed/exponent switch points as Ruby (1e16, 1e-4)
    mantissa, sep, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + sep + exponent


def _scalar_text(value: object) -> str:
    """``to_param.to_s`` of a JSON scalar as Ruby would print it."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return _ruby_float(value)
    return str(value)


def _is_array(value: object) -> TypeGuard[Sequence[object]]:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def _hash_query(params: Mapping[Any, object], namespace: str | None) -> str:
    pieces = []
    for key, value in params.items():
        # Empty containers vanish, but None does not: it becomes "key=".
        if (isinstance(value, Mapping) or _is_array(value)) and not value:
            continue
        name = str(key) if namespace is None else f"{namespace}[{key}]"
        # A non-empty hash whose members all vanish yields an empty piece, which Rails keeps
        # (it shows up as a stray "&"); reproduced rather than "fixed" to stay byte-exact.
        pieces.append(_value_query(value, name))
    # Rails keeps the pieces of hashes inside arrays in insertion order.
    if namespace is None or "[]" not in namespace:
        pieces.sort()
    return "&".join(pieces)


def _value_query(value: object, name: str) -> str:
    if isinstance(value, Mapping):
        return _hash_query(value, name)
    if _is_array(value):
        prefix = f"{name}[]"
        if not value:
            return _escape(prefix) + "="
        # Unlike hash members, array items are never sorted (the logos vector depends on it).
        return "&".join(_value_query(item, prefix) for item in value)
    return _escape(name) + "=" + _escape(_scalar_text(value))


def to_query(params: Mapping[str, object]) -> str:
    """Rails/ActiveSupport ``Hash#to_query`` of a nested JSON-like structure."""
    return _hash_query(params, None)


def _strip_query(url: str) -> str:
    return url.partition("#")[0].partition("?")[0]


def callback_signing_string(nonce: str, method: str, url: str, params: Mapping[str, object]) -> str:
    """The exact text the OneTouch callback signature is computed over."""
    return f"{nonce}|{method.upper()}|{_strip_query(url)}|{to_query(params)}"


def _hmac_b64(key: str, message: str) -> str:
    digest = hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def sign_callback(
    api_key: str, nonce: str, method: str, url: str, params: Mapping[str, object]
) -> str:
    """``X-Authy-Signature`` of a OneTouch callback to ``url`` carrying ``params``."""
    return _hmac_b64(api_key, callback_signing_string(nonce, method, url, params))


def get_callback_query(params: Mapping[str, object]) -> str:
    """Query string of a GET callback: the canonical form itself, so it is what gets signed."""
    return to_query(params)


# --- webhooks API (dashboard/json/application/webhooks) -------------------------------------


def _flat_pairs(params: Mapping[Any, object], namespace: str | None) -> Iterator[str]:
    for key, value in params.items():
        name = str(key) if namespace is None else f"{namespace}[{key}]"
        if isinstance(value, Mapping):
            yield from _flat_pairs(value, name)
        elif _is_array(value):
            for item in value:
                yield _escape(f"{name}[]") + "=" + _escape(_scalar_text(item))
        else:
            yield _escape(name) + "=" + _escape(_scalar_text(value))


def sorted_params_query(params: Mapping[str, object]) -> str:
    """All request params as ``key=value`` pairs, URL-encoded, sorted case-sensitively (byte
    order) as whole pairs, so repeated ``events[]`` come out sorted by value."""
    return "&".join(sorted(_flat_pairs(params, None)))


def _api_signing_string(nonce: str, method: str, url: str, query: str) -> str:
    return f"{nonce}|{method.upper()}|{_strip_query(url)}|{query}"


def sign_api_request(
    signing_key: str, nonce: str, method: str, url: str, params: Mapping[str, object]
) -> str:
    """``X-Authy-Signature`` of a webhooks-API request, keyed with the API Signing Key."""
    return _hmac_b64(
        signing_key, _api_signing_string(nonce, method, url, sorted_params_query(params))
    )


def verify_api_request(
    signing_key: str,
    nonce: str,
    method: str,
    url: str,
    params: Mapping[str, object],
    *,
    signature: str,
) -> bool:
    """Check a webhooks-API request signature in constant time.

    Clients disagree on the order of repeated ``events[]``: the AuthySE reference client ends up
    sorting them by value, a naive key-only sort keeps them as sent. Both orders are accepted;
    everything else about the string is fixed."""
    pairs = list(_flat_pairs(params, None))
    by_pair = "&".join(sorted(pairs))
    by_key = "&".join(sorted(pairs, key=lambda pair: pair.partition("=")[0]))
    given = signature.encode("utf-8")
    ok = False
    for query in {by_pair, by_key}:
        expected = _hmac_b64(signing_key, _api_signing_string(nonce, method, url, query))
        ok |= hmac.compare_digest(expected.encode("ascii"), given)
    return ok
