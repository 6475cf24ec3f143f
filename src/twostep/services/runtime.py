"""The long-lived collaborators (built once at start-up) and the unit of work (one per request or
job). Services receive a ``Tx``; the edge that created it owns commit and rollback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection

from twostep.clock import Clock
from twostep.config import Settings
from twostep.errors import FailAfterCommit
from twostep.i18n import Catalogs
from twostep.services.counters import Counters
from twostep.services.keys import Keyring
from twostep.services.notify import Notifier
from twostep.store import raw
from twostep.store.db import Database
from twostep.store.notify import notify
from twostep.store.redis import RedisStore

if TYPE_CHECKING:
    from twostep.services.apps import App
    from twostep.store.webhooks import Subscriber

T = TypeVar("T")


@dataclass(slots=True)
class Tx:
    conn: Connection
    rt: Runtime
    now: datetime
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    announced: set[str] = field(default_factory=set)

    @property
    def settings(self) -> Settings:
        return self.rt.settings

    @property
    def keyring(self) -> Keyring:
        return self.rt.keyring

    @property
    def catalogs(self) -> Catalogs:
        return self.rt.catalogs

    def savepoint(self) -> AbstractContextManager[None]:
        """Writes in the block are undone if it raises; the rest of the transaction stays."""
        return raw.savepoint(self.conn)

    def announce(self, topic: str) -> None:
        """Tell waiters on every node about ``topic`` once this transaction commits (other nodes
        through Redis when configured, else PostgreSQL NOTIFY, sent at commit). Once per topic."""
        if topic in self.announced:
            return
        self.announced.add(topic)
        redis = self.rt.redis
        if redis is None:
            notify(self.conn, topic)
        else:
            self.after_commit.append(lambda: redis.publish(topic))
        self.after_commit.append(lambda: self.rt.notifier.publish(topic))


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    db: Database
    keyring: Keyring
    catalogs: Catalogs
    admin_token: str | None = None
    notifier: Notifier = field(default_factory=Notifier)
    counters: Counters = field(default_factory=Counters)  # monthly statistics, written by flush
    redis: RedisStore | None = None
    # API-key digest -> (until, App): see apps.authenticate
    app_cache: dict[bytes, tuple[float, App]] = field(default_factory=dict)
    # application id -> (until, its webhooks): see events.emit
    webhook_cache: dict[int, tuple[float, list[Subscriber]]] = field(default_factory=dict)

    @contextmanager
    def tx(self, *, write: bool = True) -> Iterator[Tx]:
        with self.db.transaction(write=write) as conn:
            tx = Tx(conn, self, self.clock.now())
            yield tx
        self.db.after_commit(tx.after_commit)

    async def in_thread(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (blocking database work) on one of the process's request threads."""
        return await self.db.in_thread(fn)

    async def call(self, fn: Callable[[], T], *, inline: bool = False) -> T:
        """Run ``fn`` (one short unit of database work). ``inline`` marks the busiest endpoints:
        on SQLite they run on the event loop, never waiting there (store/db.py, run_unit).
        Not with Redis configured: rate limits and announcements would then talk to Redis."""
        inline = inline and self.settings.sqlite_inline and self.redis is None
        return await self.db.run_unit(fn, inline=inline)

    def run(self, fn: Callable[[Tx], T], *, write: bool = True) -> T:
        """Run ``fn`` in one transaction (retrying SQLite lock timeouts), then its after-commit hooks."""
        hooks: list[Callable[[], None]] = []
        refusal: list[FailAfterCommit] = []

        def unit(conn: Connection) -> T | None:
            tx = Tx(conn, self, self.clock.now())
            refusal.clear()
            try:
                result = fn(tx)
            except FailAfterCommit as exc:
                refusal.append(exc)
                result = None
            hooks[:] = tx.after_commit
            return result

        result: T = self.db.run(unit, write=write)
        self.db.after_commit(hooks)
        if refusal:
            raise refusal[0].error
        return result
