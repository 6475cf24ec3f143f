"""The keyring: data keys unwrapped once at start-up with the master key, used to seal secrets at
rest and to derive API keys. The master key itself is only ever held in memory."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from twostep.core import crypto
from twostep.store.db import Database
from twostep.store.schema import keyring as keyring_table

DATA = "data"
DERIVE = "derive"


@dataclass(frozen=True)
class Keyring:
    active_id: str
    data_keys: dict[str, bytes]
    derive_secret: bytes
    # prepared once: building an AES-GCM context or deriving a subkey costs more than using it
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, compare=False, repr=False)
    _subkeys: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def seal(self, plaintext: bytes, aad: str) -> str:
        return crypto.seal(self.active_id, self.data_keys[self.active_id], plaintext, aad.encode())

    def open(self, sealed: str, aad: str) -> bytes:
        key_id, raw = crypto.split_sealed(sealed)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            key = self.data_keys.get(key_id)
            if key is None:
                raise crypto.CryptoError(f"unknown data key {key_id!r}")
            cipher = self._ciphers[key_id] = AESGCM(key)
        return crypto.decrypt(cipher, raw, aad.encode())

    def api_key(self, app_id: int, serial: int, salt: bytes) -> str:
        return crypto.derive_api_key(self.derive_secret, app_id, serial, salt)

    def subkey(self, purpose: str) -> bytes:
        """A stable secret for one purpose (e.g. hashing one-time codes), derived from the derive key."""
        key = self._subkeys.get(purpose)
        if key is None:
            key = crypto.derive_api_key(self.derive_secret, 0, 0, purpose.encode()).encode()
            self._subkeys[purpose] = key
        return key


def read_master_key(value: str | None, path: Path, *, create: bool) -> bytes:
    """The master key from the environment value, else the key file; created (mode 0600) only when
    ``create`` is set, which the embedded mode does on first start."""
    if value:
        return crypto.parse_master_key(value)
    if path.exists():
        mode = path.stat().st_mode & 0o777
        # Group read is allowed: Kubernetes mounts Secrets owned by root and readable through the
        # pod's fsGroup. Anything more open is refused.
        if mode & 0o037:
            raise crypto.CryptoError(
                f"{path} is open to others (mode {mode:o}); chmod 600 (or 640) it"
            )
        return crypto.parse_master_key(path.read_text())
    if not create:
        raise crypto.CryptoError(f"master key file {path} does not exist")
    return crypto.parse_master_key(write_once(path, crypto.format_master_key(crypto.new_key())))


def write_once(path: Path, text: str) -> str:
    """Create the secret file ``path`` (mode 0600) holding ``text``, unless another process got
    there first: several servers started together on one data directory race to create it, and
    all of them must end up with the one that won. Returns the file's text. Written aside, then
    linked into place, so that nobody ever reads it half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
        with contextlib.suppress(FileExistsError):  # another process's file won
            os.link(aside, path)
    finally:
        aside.unlink()
    return path.read_text().strip()


def load_keyring(db: Database, master: bytes) -> Keyring:
    """Unwrap every data key; create the first ones if the database has none yet."""
    keyring: Keyring | None = db.run(lambda conn: _load(conn, master), write=False)
    if keyring is not None:
        return keyring
    with contextlib.suppress(IntegrityError):  # another process may have created them first
        db.run(lambda conn: _create_initial(conn, master))
    keyring = db.run(lambda conn: _load(conn, master), write=False)
    assert keyring is not None
    return keyring


def _load(conn: Connection, master: bytes) -> Keyring | None:
    rows = conn.execute(select(keyring_table).order_by(keyring_table.c.created_at)).all()
    data: dict[str, bytes] = {}
    active: str | None = None
    derive: bytes | None = None
    for row in rows:
        key = crypto.unwrap_key(master, row.id, row.wrapped)
        if row.purpose == DERIVE:
            derive = key
        else:
            data[row.id] = key
            if row.retired_at is None:
                active = row.id
    if active is None or derive is None:
        return None
    return Keyring(active, data, derive)


def _create_initial(conn: Connection, master: bytes) -> None:
    now = datetime.now(UTC)
    for key_id, purpose in (("d1", DATA), ("x1", DERIVE)):
        conn.execute(
            insert(keyring_table).values(
                id=key_id,
                purpose=purpose,
                wrapped=crypto.wrap_key(master, key_id, crypto.new_key()),
                created_at=now,
            )
        )


def add_data_key(conn: Connection, master: bytes, now: datetime) -> str:
    """Start sealing with a fresh data key; older keys stay for decryption until re-encrypted."""
    key_id = "d" + secrets.token_hex(4)
    conn.execute(
        update(keyring_table)
        .where(keyring_table.c.purpose == DATA, keyring_table.c.retired_at.is_(None))
        .values(retired_at=now)
    )
    conn.execute(
        insert(keyring_table).values(
            id=key_id,
            purpose=DATA,
            wrapped=crypto.wrap_key(master, key_id, crypto.new_key()),
            created_at=now,
        )
    )
    return key_id


def rewrap_all(conn: Connection, old_master: bytes, new_master: bytes) -> int:
    """Re-wrap every data key under a new master key (master-key rotation); returns the count."""
    rows = conn.execute(select(keyring_table.c.id, keyring_table.c.wrapped)).all()
    for row in rows:
        key = crypto.unwrap_key(old_master, row.id, row.wrapped)
        conn.execute(
            update(keyring_table)
            .where(keyring_table.c.id == row.id)
            .values(wrapped=crypto.wrap_key(new_master, row.id, key))
        )
    return len(rows)
