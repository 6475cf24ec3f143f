"""Start-up: from validated Settings to a ready Runtime (data directory, master key, database,
migrations, keyring). Done once per process."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from redis.exceptions import RedisError

from twostep.clock import Clock, SystemClock
from twostep.config import ConfigError, Settings
from twostep.core.crypto import CryptoError
from twostep.i18n import Catalogs
from twostep.services.keys import load_keyring, read_master_key, write_once
from twostep.services.runtime import Runtime
from twostep.store import migrate
from twostep.store.db import Database
from twostep.store.redis import RedisStore


@dataclass(frozen=True)
class FirstRun:
    """What a person needs to know after the first start of an embedded server."""

    data_dir: Path
    database_url: str
    master_key_file: Path | None
    admin_token_file: Path | None


def open_database(settings: Settings) -> Database:
    if settings.embedded and not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.data_dir, 0o700)
    return Database(
        settings.resolved_database_url,
        pool_size=settings.db_pool_size,
        busy_timeout_ms=settings.db_busy_timeout_ms,
        threads=settings.request_threads,
        batching=settings.postgres_batching,
        group_commit=settings.sqlite_group_commit,
    )


def master_key(settings: Settings) -> bytes:
    try:
        return read_master_key(
            settings.master_key.get_secret_value() if settings.master_key else None,
            settings.resolved_master_key_file,
            create=settings.embedded,
        )
    except CryptoError as exc:
        raise ConfigError(f"master key: {exc}") from None


def admin_token(settings: Settings) -> str | None:
    """The admin API token: configured, or in embedded mode a token file created on first start."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    if not settings.embedded:
        return None
    path = settings.data_dir / "admin.token"
    if path.exists():
        return path.read_text().strip()
    return write_once(path, secrets.token_urlsafe(32))


def prepare_schema(settings: Settings, db: Database) -> None:
    """Embedded mode migrates on start; production refuses to run on a missing or older schema
    (``twostep db upgrade`` is an explicit deployment step there). Either runs on a schema a newer
    release migrated: expand/contract migrations keep it compatible with this one."""
    current = migrate.current_revision(db.engine)
    if current is not None and current not in migrate.known_revisions():
        return
    if settings.embedded:
        migrate.upgrade(db.engine)
        return
    if current is None:
        raise ConfigError("the database has no schema; run `twostep db upgrade` first")
    if current != migrate.head_revision():
        raise ConfigError(
            f"the database schema is at {current}, this release needs {migrate.head_revision()}; "
            "run `twostep db upgrade`"
        )


def build_runtime(
    settings: Settings, *, clock: Clock | None = None, migrate_schema: bool = True
) -> Runtime:
    db = open_database(settings)
    if migrate_schema:
        prepare_schema(settings, db)
    try:
        keyring = load_keyring(db, master_key(settings))
    except CryptoError as exc:
        db.dispose()
        raise ConfigError(
            f"the master key does not open this database's data keys ({exc}): is it the key "
            "this database was created with?"
        ) from None
    return Runtime(
        settings=settings,
        clock=clock or SystemClock(),
        db=db,
        keyring=keyring,
        catalogs=Catalogs.load(),
        admin_token=admin_token(settings),
        redis=open_redis(settings),
    )


def open_redis(settings: Settings) -> RedisStore | None:
    if not settings.redis_url:
        return None
    store = RedisStore(settings.redis_url, settings.redis_prefix)
    try:
        store.ping()
    except RedisError as exc:
        raise ConfigError(f"Redis at {settings.redis_url} does not answer: {exc}") from None
    return store


def first_run_info(settings: Settings) -> FirstRun:
    return FirstRun(
        data_dir=settings.data_dir.resolve(),
        database_url=settings.resolved_database_url,
        master_key_file=None
        if settings.master_key
        else settings.resolved_master_key_file.resolve(),
        admin_token_file=(settings.data_dir / "admin.token").resolve()
        if settings.embedded and settings.admin_token is None
        else None,
    )
