"""Current TOTP codes of the accounts (Authy app tokens: 7 digits, 10-second step, HMAC-SHA1)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from twostep.authenticator.client import AuthenticatorError
from twostep.authenticator.state import Account
from twostep.core import otp


@dataclass(frozen=True, slots=True)
class Code:
    account: Account
    code: str
    seconds_left: int


def seed_bytes(seed: str) -> bytes:
    """A base32 seed (RFC 4648, padding optional, case-insensitive) as bytes."""
    text = seed.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def current(account: Account, now: float) -> Code:
    period = account.period if account.period > 0 else 10
    try:
        key = seed_bytes(account.seed)
    except (binascii.Error, ValueError):
        raise AuthenticatorError(f"the seed of {account.app_name} is not base32") from None
    code = otp.totp(
        key,
        now,
        step=period,
        digits=account.digits,
        algorithm=account.algorithm.lower(),
    )
    return Code(account, code, period - int(now) % period)
