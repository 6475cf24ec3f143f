"""Envelope encryption and key derivation. Pure: keys come in as bytes.

Secrets at rest are sealed with AES-256-GCM under a *data key*; data keys are stored wrapped (also
AES-256-GCM) by the *master key*, which never touches the database. Every sealed value names the
data key that sealed it, so data keys rotate online, and binds an ``aad`` context (table, column,
row) so a ciphertext cannot be moved to another row."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import string
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
_NONCE_BYTES = 12
_FORMAT = "v1"
_ALPHABET = string.ascii_letters + string.digits


class CryptoError(Exception):
    """A value cannot be decrypted: wrong key, tampered data or unknown key id."""


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


_B64URL_TEXT = re.compile(r"[A-Za-z0-9_-]+")


def b64url(data: bytes) -> str:
    """URL-safe base64 without padding (the device protocol's encoding for keys and signatures)."""
    return _b64(data)


def from_b64url(text: str) -> bytes:
    """Inverse of b64url; ValueError for anything that is not such text."""
    if len(text) > 4096 or not _B64URL_TEXT.fullmatch(text):
        raise ValueError("not base64url text")
    return _unb64(text)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(key_id: str, key: bytes, plaintext: bytes, aad: bytes) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, aad)
    return f"{_FORMAT}.{key_id}.{_b64(nonce + ciphertext)}"


def split_sealed(sealed: str) -> tuple[str, bytes]:
    """The data key id and the nonce+ciphertext of a sealed value."""
    try:
        fmt, key_id, payload = sealed.split(".", 2)
    except ValueError:
        raise CryptoError("not a sealed value") from None
    if fmt != _FORMAT:
        raise CryptoError(f"unknown sealed format {fmt!r}")
    return key_id, _unb64(payload)


def decrypt(cipher: AESGCM, raw: bytes, aad: bytes) -> bytes:
    try:
        return cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], aad)
    except InvalidTag:
        raise CryptoError("sealed value failed authentication") from None


def open_sealed(keys: Mapping[str, bytes], sealed: str, aad: bytes) -> bytes:
    key_id, raw = split_sealed(sealed)
    key = keys.get(key_id)
    if key is None:
        raise CryptoError(f"unknown data key {key_id!r}")
    return decrypt(AESGCM(key), raw, aad)


def sealed_key_id(sealed: str) -> str:
    return sealed.split(".", 2)[1]


def wrap_key(master: bytes, key_id: str, data_key: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, data_key, b"twostep-data-key:" + key_id.encode())


def unwrap_key(master: bytes, key_id: str, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master).decrypt(
            wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], b"twostep-data-key:" + key_id.encode()
        )
    except InvalidTag:
        raise CryptoError(f"data key {key_id!r} does not open with this master key") from None


def parse_master_key(text: str) -> bytes:
    """Master keys are 32 random bytes written as URL-safe base64 (43 characters) or 64 hex digits."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else _unb64(text)
    except ValueError:
        raise CryptoError("master key is neither base64 nor hex") from None
    if len(raw) != KEY_BYTES:
        raise CryptoError(f"master key must be {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def format_master_key(key: bytes) -> str:
    return _b64(key)


def derive_api_key(secret: bytes, app_id: int, serial: int, salt: bytes) -> str:
    """An application's API key, recomputable from a server secret so that only its hash is stored
    while the worker can still sign OneTouch callbacks with it (Authy signs them with the API key)."""
    digest = hmac.digest(secret, f"api-key:{app_id}:{serial}:".encode() + salt, hashlib.sha512)
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(32):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return "".join(chars)


def api_key_hash(api_key: str) -> bytes:
    """Lookup hash of an API key. Keys carry ~190 bits of entropy, so a plain SHA-256 cannot be
    reversed and needs no pepper or stretching (which would cost every request)."""
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).digest()


def random_token(nbytes: int = 32) -> str:
    """Random URL-safe text that never starts with "-", so that a person can pass it to a command
    (``twostep authenticator approve-recovery ID``) without it being read as an option."""
    while True:
        token = _b64(secrets.token_bytes(nbytes))
        if not token.startswith("-"):
            return token


def random_hex_id() -> str:
    """24 hex digits, the shape of Authy's internal ids (``_id``, ``app_id``, ``user_id``)."""
    return secrets.token_hex(12)
