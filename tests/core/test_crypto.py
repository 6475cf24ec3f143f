from __future__ import annotations

import pytest

from twostep.core import crypto


def test_sealed_values_open_with_the_same_key_and_context() -> None:
    key = crypto.new_key()
    sealed = crypto.seal("d1", key, b"seed", b"devices:seed:7")
    assert sealed.startswith("v1.d1.")
    assert b"seed" not in sealed.encode()
    assert crypto.open_sealed({"d1": key}, sealed, b"devices:seed:7") == b"seed"
    assert crypto.sealed_key_id(sealed) == "d1"


def test_a_sealed_value_cannot_move_to_another_row() -> None:
    key = crypto.new_key()
    sealed = crypto.seal("d1", key, b"seed", b"devices:seed:7")
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed({"d1": key}, sealed, b"devices:seed:8")


def test_tampering_and_unknown_keys_are_detected() -> None:
    key = crypto.new_key()
    sealed = crypto.seal("d1", key, b"seed", b"ctx")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed({"d1": key}, flipped, b"ctx")
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed({"d2": key}, sealed, b"ctx")
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed({"d1": key}, "garbage", b"ctx")


def test_data_keys_wrap_under_the_master_key() -> None:
    master, data = crypto.new_key(), crypto.new_key()
    wrapped = crypto.wrap_key(master, "d1", data)
    assert crypto.unwrap_key(master, "d1", wrapped) == data
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap_key(crypto.new_key(), "d1", wrapped)
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap_key(master, "d2", wrapped)


def test_master_key_text_formats() -> None:
    key = crypto.new_key()
    assert crypto.parse_master_key(crypto.format_master_key(key)) == key
    assert crypto.parse_master_key(key.hex()) == key
    with pytest.raises(crypto.CryptoError):
        crypto.parse_master_key("c2hvcnQ")
    with pytest.raises(crypto.CryptoError):
        crypto.parse_master_key("not base64 !!")


def test_api_keys_are_derived_deterministically_and_look_like_authy_keys() -> None:
    secret = crypto.new_key()
    a = crypto.derive_api_key(secret, 1, 1, b"salt")
    assert a == crypto.derive_api_key(secret, 1, 1, b"salt")
    assert len(a) == 32
    assert a.isalnum()
    assert a != crypto.derive_api_key(secret, 1, 2, b"salt")
    assert a != crypto.derive_api_key(secret, 2, 1, b"salt")
    assert a != crypto.derive_api_key(crypto.new_key(), 1, 1, b"salt")
    assert len(crypto.api_key_hash(a)) == 32


def test_hex_ids_have_authy_shape() -> None:
    ident = crypto.random_hex_id()
    assert len(ident) == 24
    int(ident, 16)


def test_random_tokens_can_be_passed_as_command_arguments() -> None:
    """Without the rule, one token in 64 starts with "-" and a CLI reads it as an option."""
    tokens = {crypto.random_token(24) for _ in range(3000)}
    assert len(tokens) == 3000
    assert not [t for t in tokens if t.startswith("-")]
    assert all(len(t) == 32 and crypto.from_b64url(t) for t in tokens)
