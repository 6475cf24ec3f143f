"""One-time password arithmetic (RFC 4226 HOTP, RFC 6238 TOTP). Pure: time comes in as an argument.

Written here rather than taken from pyotp because the hot path needs raw-byte keys (pyotp decodes a
base32 string on every call), an explicit Unix time, and a window check that reports the matched
time-step so callers can refuse replays."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote, urlencode

_DIGESTS: dict[str, Callable[[], object]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}
_POW10 = [10**n for n in range(11)]
_COUNTER = struct.Struct(">Q")
_WORD = struct.Struct(">I")


def hotp(key: bytes, counter: int, digits: int = 6, algorithm: str = "sha1") -> str:
    """RFC 4226 §5.3: dynamic truncation of HMAC(key, counter) to ``digits`` decimal digits."""
    if not 1 <= digits <= 10:
        raise ValueError("digits must be between 1 and 10")
    mac = hmac.digest(key, struct.pack(">Q", counter), algorithm)
    offset = mac[-1] & 0x0F
    binary = struct.unpack_from(">I", mac, offset)[0] & 0x7FFFFFFF
    return str(binary % _POW10[digits]).zfill(digits)


def time_step(unix_time: float, step: int, t0: int = 0) -> int:
    return int((unix_time - t0) // step)


def totp(
    key: bytes, unix_time: float, step: int = 30, digits: int = 6, algorithm: str = "sha1"
) -> str:
    """RFC 6238: HOTP over the number of ``step``-second periods since the epoch."""
    return hotp(key, time_step(unix_time, step), digits, algorithm)


@dataclass(frozen=True, slots=True)
class TotpParams:
    step: int
    digits: int
    window: int
    algorithm: str = "sha1"


def match_totp(key: bytes, code: str, unix_time: float, params: TotpParams) -> int | None:
    """The time-step within ±window of now whose code equals ``code``, else None.

    The current step is tried first, then its neighbours outwards, and the search stops at the
    first match: a code from a working authenticator usually matches at once (one HMAC instead
    of 2 x window + 1). The time taken then tells only which step matched, which the holder of
    the code knows already; a code that matches nothing always costs every step."""
    if len(code) != params.digits or not code.isdigit():
        return None
    now_step = time_step(unix_time, params.step)
    # Compare the numbers as fixed-size bytes: no string formatting in the loop (verify's hot path).
    expected = int(code).to_bytes(5, "big")
    modulus = _POW10[params.digits]
    digest_of, algorithm, pack = hmac.digest, params.algorithm, _COUNTER.pack
    for delta in _outwards(params.window):
        candidate = now_step + delta
        if candidate < 0:
            continue
        mac = digest_of(key, pack(candidate), algorithm)
        offset = mac[-1] & 0x0F
        value = (_WORD.unpack_from(mac, offset)[0] & 0x7FFFFFFF) % modulus
        if hmac.compare_digest(value.to_bytes(5, "big"), expected):
            return candidate
    return None


@cache
def _outwards(window: int) -> tuple[int, ...]:
    """0, -1, 1, -2, 2, ... -window, window."""
    return (0, *(d for n in range(1, window + 1) for d in (-n, n)))


def random_secret(nbytes: int = 20) -> bytes:
    """A fresh TOTP seed; 20 bytes is the RFC 4226 recommendation for SHA-1."""
    return secrets.token_bytes(nbytes)


def base32_secret(key: bytes) -> str:
    return base64.b32encode(key).decode("ascii").rstrip("=")


def otpauth_uri(
    key: bytes,
    *,
    issuer: str,
    label: str,
    digits: int = 6,
    period: int = 30,
    algorithm: str = "sha1",
) -> str:
    """Key-URI format understood by Google Authenticator and its successors."""
    account = f"{issuer}:{label}" if label else issuer
    query = urlencode(
        {
            "secret": base32_secret(key),
            "issuer": issuer,
            "algorithm": algorithm.upper(),
            "digits": digits,
            "period": period,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{quote(account, safe=':@')}?{query}"
