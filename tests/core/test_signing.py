"""Ed25519 verification of device signatures (core/signing.py): RFC 8032's test vectors, agreement
with an independent implementation (the `cryptography` package, which the authenticator signs
with), and refusal of anything altered or malformed."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from twostep.core import signing

# RFC 8032 §7.1, tests 1 to 3: (secret key, public key, message, signature)
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]
IDENTITY_POINT = bytes([1]) + bytes(31)  # of small order


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors_verify(secret: str, public: str, message: str, signature: str) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
    assert raw_public(key).hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature
    assert signing.valid_public_key(bytes.fromhex(public))
    assert signing.verify(bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature))


@settings(max_examples=50, deadline=None)
@given(message=st.binary(max_size=512), flip=st.integers(min_value=0, max_value=8 * 64 - 1))
def test_agrees_with_cryptography_and_refuses_any_changed_bit(message: bytes, flip: int) -> None:
    key = Ed25519PrivateKey.generate()
    public, signature = raw_public(key), key.sign(message)
    assert signing.verify(public, message, signature)
    altered = bytearray(signature)
    altered[flip // 8] ^= 1 << (flip % 8)
    assert not signing.verify(public, message, bytes(altered))
    assert not signing.verify(public, message + b"\0", signature)
    assert not signing.verify(raw_public(Ed25519PrivateKey.generate()), message, signature)


def test_malformed_keys_and_signatures_are_refused_not_raised() -> None:
    key = Ed25519PrivateKey.generate()
    public, signature = raw_public(key), key.sign(b"m")
    assert not signing.verify(public[:31], b"m", signature)
    assert not signing.verify(public, b"m", signature[:63])
    assert not signing.verify(public, b"m", signature + b"\0")
    assert not signing.verify(b"", b"m", b"")
    assert not signing.valid_public_key(public[:31])


def test_small_order_keys_are_not_valid_device_keys() -> None:
    assert not signing.valid_public_key(IDENTITY_POINT)
    assert not signing.valid_public_key(bytes(32))
    # with the identity as the key and R, S = 0 satisfies the lax verification equation for
    # any message; strict verification refuses it
    assert not signing.verify(IDENTITY_POINT, b"anything", IDENTITY_POINT + bytes(32))
