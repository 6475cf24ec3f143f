"""One-time codes sent by SMS, voice and email: generation and keyed hashing. Pure."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def numeric_code(length: int) -> str:
    """A uniformly random decimal code of exactly ``length`` digits (leading zeros allowed)."""
    if not 1 <= length <= 12:
        raise ValueError("code length must be between 1 and 12")
    return str(secrets.randbelow(10**length)).zfill(length)


def code_digest(key: bytes, scope: str, code: str) -> bytes:
    """A keyed hash of ``code`` bound to ``scope`` (e.g. the user and action it was issued for), so a
    database dump reveals no usable code and a code cannot be moved to another scope."""
    return hmac.digest(key, f"{scope}\x00{code}".encode(), hashlib.sha256)


def same_digest(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def spell_digits(code: str, separator: str = ", ") -> str:
    """``"1234"`` → ``"1, 2, 3, 4"``: speech engines then read the digits one by one."""
    return separator.join(code)
