from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twostep.core import otp

RFC4226_KEY = b"12345678901234567890"
RFC4226_CODES = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
]

RFC6238_KEYS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238_VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(RFC4226_CODES)))
def test_hotp_matches_rfc4226_appendix_d(counter: int, expected: str) -> None:
    assert otp.hotp(RFC4226_KEY, counter, 6) == expected


@pytest.mark.parametrize(("t", "sha1", "sha256", "sha512"), RFC6238_VECTORS)
def test_totp_matches_rfc6238_appendix_b(t: int, sha1: str, sha256: str, sha512: str) -> None:
    for algorithm, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        assert otp.totp(RFC6238_KEYS[algorithm], t, 30, 8, algorithm) == expected


def test_authy_style_token_is_seven_digits_on_ten_second_steps() -> None:
    key = b"k" * 20
    code = otp.totp(key, 1000, step=10, digits=7)
    assert len(code) == 7
    assert code == otp.totp(key, 1009.9, step=10, digits=7)
    assert otp.time_step(1000, 10) == 100


PARAMS_30 = otp.TotpParams(step=30, digits=6, window=1)


def test_match_reports_the_matching_step_within_the_window() -> None:
    key = otp.random_secret()
    now = 1_700_000_000
    step = otp.time_step(now, 30)
    for delta in (-1, 0, 1):
        code = otp.hotp(key, step + delta, 6)
        assert otp.match_totp(key, code, now, PARAMS_30) == step + delta
    assert otp.match_totp(key, otp.hotp(key, step + 2, 6), now, PARAMS_30) is None
    assert otp.match_totp(key, otp.hotp(key, step - 2, 6), now, PARAMS_30) is None


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "12a456", " 123456"])
def test_match_refuses_malformed_codes(bad: str) -> None:
    assert otp.match_totp(b"k" * 20, bad, 1_700_000_000, PARAMS_30) is None


@given(
    key=st.binary(min_size=10, max_size=64),
    now=st.integers(min_value=10**9, max_value=4 * 10**9),
    offset=st.integers(min_value=-5, max_value=5),
    window=st.integers(min_value=0, max_value=3),
)
def test_codes_from_inside_the_window_match_and_outside_do_not(
    key: bytes, now: int, offset: int, window: int
) -> None:
    params = otp.TotpParams(step=10, digits=7, window=window)
    step = otp.time_step(now, 10) + offset
    code = otp.hotp(key, step, 7)
    matched = otp.match_totp(key, code, now, params)
    if abs(offset) <= window:
        # another step in the window may produce the same code by chance; it must still be valid
        assert matched is not None
        assert abs(matched - otp.time_step(now, 10)) <= window
    elif matched is not None:
        assert otp.hotp(key, matched, 7) == code  # only a chance collision may match


def test_otpauth_uri_carries_issuer_label_and_parameters() -> None:
    uri = otp.otpauth_uri(b"\x00" * 10, issuer="Acme Bank", label="alice@example.com")
    assert uri.startswith("otpauth://totp/Acme%20Bank:alice@example.com?secret=AAAAAAAAAAAAAAAA")
    assert "issuer=Acme%20Bank" in uri
    assert "digits=6" in uri
    assert "period=30" in uri


def test_the_nearest_step_is_tried_first() -> None:
    """A code that happens to be valid at two steps of the window reports the one nearest now."""
    now = 1_700_000_000
    step = otp.time_step(now, 10)
    params = otp.TotpParams(step=10, digits=1, window=3)  # one digit: collisions are easy to find
    for n in range(200):
        key = n.to_bytes(4, "big")
        codes = {delta: otp.hotp(key, step + delta, 1) for delta in range(-3, 4)}
        nearest = min((d for d in codes if codes[d] == codes[2]), key=lambda d: (abs(d), d))
        if nearest != 2:
            assert otp.match_totp(key, codes[2], now, params) == step + nearest
            return
    raise AssertionError("no colliding key found")
