"""Engine and transactions. The edge (a request or a job) opens one transaction; services run inside.

SQLite: WAL mode, ``BEGIN IMMEDIATE`` for transactions that write (so concurrent writers queue on the
busy timeout instead of failing to upgrade a read lock). PostgreSQL: psycopg 3. Both use synchronous
drivers: the API runs each unit of work in a worker thread with a single hop, which measured faster
than an async driver's hop per statement.

Each thread keeps one connection checked out and reuses it for its transactions: checking a
connection out of the pool and back for every transaction cost ~70 µs, more than most requests'
own queries. A connection idle for a while is pinged before use (a database restart or failover
leaves it broken), and one that broke mid-transaction is dropped and replaced."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from twostep.store import batching
from twostep.store.checkpoints import Checkpoints
from twostep.store.commit_group import CommitGroup
from twostep.store.driver_errors import is_locked, lost_race
from twostep.store.engine import make_engine
from twostep.store.held import Held, Slot
from twostep.store.writer_lock import WriterLock

T = TypeVar("T")
log = logging.getLogger("twostep.db")
_SQLITE_BUSY_RETRIES = 5
_RACE_RETRIES = 3
_PING_AFTER_IDLE_SECONDS = 10.0


class WouldBlock(Exception):
    """An inline transaction (SQLite, on the event loop) would have had to wait for a lock."""


class WriterBusy(WouldBlock):
    """... for this process's writer lock, which the event loop can await (writer_lock.py)."""


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 16,
        busy_timeout_ms: int = 10_000,
        threads: int = 0,
        batching: bool = True,
        group_commit: bool = True,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.batching = batching and not self.is_sqlite  # store/batching.py
        self._held = Held()
        self._all_held: list[Connection] = []
        self._registry = threading.Lock()
        self.engine = make_engine(url, pool_size, busy_timeout_ms, lambda: self._held.write)
        # SQLite has one writer at a time. Queueing this process's writers on a lock is far
        # cheaper than letting them collide on the file lock, where SQLite's busy handler sleeps
        # (up to 100 ms a time); the busy timeout is left for writers in other processes.
        self._writer = WriterLock()
        # Inline units (run_unit) share one connection, whichever event loop runs them: a
        # server has one loop, but test clients start a loop thread per request.
        self._inline = threading.Lock()
        self._loop = Slot()
        self.checkpoints = Checkpoints(self.engine, self._writer)  # store/checkpoints.py
        self.group_commit = group_commit and self.is_sqlite  # store/commit_group.py
        self._group: CommitGroup | None = None
        # The request threads: a fixed set, so each keeps its connection for its whole life.
        self.threads = threads or min(4, pool_size)
        self._executor: ThreadPoolExecutor | None = None

    # --- connections --------------------------------------------------------------------------

    def _slot(self) -> Slot:
        return self._loop if self._held.inline else self._held.own

    def _connection(self) -> Connection:
        held, slot = self._held, self._slot()
        conn = slot.conn
        if conn is not None and (conn.closed or conn.invalidated):
            self._forget(conn)
            conn = None
        idle = conn is not None and time.monotonic() - slot.used_at > _PING_AFTER_IDLE_SECONDS
        if conn is not None and idle and not self._alive(conn):
            self._forget(conn)
            conn = None
        if conn is None:
            conn = self.engine.connect()
            if self.batching:  # transactions begun and ended by store/batching.py
                driver = conn.connection.dbapi_connection
                assert driver is not None
                driver.rollback()  # out of whatever the pool's ping began
                driver.autocommit = True
                # statements are prepared by store/batching.py; psycopg's own would make it
                # DEALLOCATE ALL after every rollback, ours included
                driver.prepare_threshold = None
            if held.inline:  # on the event loop: never wait for a lock, never sync to disk
                driver = conn.connection.dbapi_connection
                assert driver is not None
                driver.execute("PRAGMA busy_timeout=0")
                driver.execute("PRAGMA wal_autocheckpoint=0")
            slot.conn = conn
            with self._registry:
                self._all_held.append(conn)
        slot.used_at = time.monotonic()
        return conn

    def _alive(self, conn: Connection) -> bool:
        try:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
            if not self.is_sqlite:
                conn.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - any failure means: use another connection
            return False
        return True

    def _forget(self, conn: Connection) -> None:
        slot = self._slot()
        if slot.conn is conn:
            slot.conn = None
        with self._registry:
            if conn in self._all_held:
                self._all_held.remove(conn)
        try:
            conn.invalidate()
            conn.close()
        except Exception:  # noqa: BLE001, S110 - it is being thrown away
            pass

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        held, slot = self._held, self._slot()
        group = self._group_to_join(held, slot)
        if group is not None:
            with self._joined(group) as conn:
                yield conn
            return
        kept = slot.conn
        if not held.keep or (kept is not None and (slot.in_transaction or kept.in_transaction())):
            # Other threads (tools, tests, the worker's helpers), and a transaction inside another
            # on one thread, take a connection from the pool for the transaction.
            with self._pooled(write) as conn:
                yield conn
            return
        lock = self._writer if self.is_sqlite and write else None
        if lock is not None and not lock.acquire(blocking=not held.inline):
            raise WriterBusy
        try:
            conn = self._connection()
            self._held.write = write
            if self.is_sqlite:
                with self._sqlite_transaction(conn, write):
                    yield conn
                return
            if self.batching:
                slot = self._slot()
                slot.in_transaction = True
                try:
                    with batching.transaction(conn, self._forget):
                        yield conn
                finally:
                    slot.in_transaction = False
                return
            try:
                began = conn.begin()
            except DBAPIError:  # SQLAlchemy leaves a connection whose BEGIN failed half-begun
                self._forget(conn)
                raise
            try:
                with began:
                    yield conn
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    self._forget(conn)
                raise
        finally:
            if held.lock_passed:
                held.lock_passed = False  # the commit group releases it
            elif lock is not None:
                lock.release()

    def _group_to_join(self, held: Held, slot: Slot) -> CommitGroup | None:
        """The open commit group this inline unit's transaction joins, if any."""
        group = self._group
        if group is None:
            return None
        if not group.is_current():
            if held.inline:
                raise WriterBusy  # another loop's group holds the inline connection
            return None
        if held.inline and not slot.in_transaction:
            return group
        group.finish()  # blocking work on the loop's thread: it cannot wait for the next turn
        return None

    @contextmanager
    def _joined(self, group: CommitGroup) -> Iterator[Connection]:
        conn = self._connection()
        slot = self._slot()
        slot.in_transaction = True
        self._held.group = group
        try:
            with group.unit(conn.connection.dbapi_connection):
                yield conn
        finally:
            slot.in_transaction = False

    @contextmanager
    def _sqlite_transaction(self, conn: Connection, write: bool) -> Iterator[None]:
        """A transaction on a kept SQLite connection, begun and ended on the driver: SQLAlchemy's
        transaction objects cost ~20 µs a request on the hot path. A Core statement run inside
        makes SQLAlchemy begin its own transaction; the begin hook then finds ours open and
        leaves it, and it is ended through SQLAlchemy, so both agree it is over."""
        driver: Any = conn.connection.dbapi_connection
        statement = "BEGIN IMMEDIATE" if write else "BEGIN"
        try:
            driver.execute(statement)
        except sqlite3.Error as exc:  # busy, usually: the connection stays as it was
            if driver.in_transaction:
                self._forget(conn)
            raise OperationalError(statement, None, exc) from exc
        slot = self._slot()
        slot.in_transaction = True
        try:
            yield
        except BaseException as exc:
            slot.in_transaction = False
            if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                self._forget(conn)
            else:
                self._end(conn, driver, commit=False)
            raise
        slot.in_transaction = False
        held = self._held
        if write and held.inline and self.group_commit:
            # the commit waits for the loop's next turn, with the units that join meanwhile
            self._group = held.group = CommitGroup(
                lambda: self._end(conn, driver, commit=True), self._close_group
            )
            held.lock_passed = True
            return
        self._end(conn, driver, commit=True)

    def _close_group(self) -> None:
        self._group = None
        self._writer.release()

    def after_commit(self, hooks: list[Callable[[], None]]) -> None:
        """Run ``hooks`` once the transaction that just ended is committed: now, or when the
        commit group it joined commits."""
        group = self._held.group
        if group is not None:
            group.hooks.extend(hooks)
            return
        for hook in hooks:
            hook()

    def _end(self, conn: Connection, driver: Any, *, commit: bool) -> None:
        try:
            if conn.in_transaction():
                conn.commit() if commit else conn.rollback()
            elif driver.in_transaction:
                driver.execute("COMMIT" if commit else "ROLLBACK")
        except Exception as exc:
            self._forget(conn)  # in an unknown state: not to be used again
            if not commit:
                return  # the error that made us roll back is the one to report
            if isinstance(exc, sqlite3.Error):
                raise OperationalError("COMMIT", None, exc) from exc
            raise

    @contextmanager
    def _pooled(self, write: bool) -> Iterator[Connection]:
        lock = self._writer if self.is_sqlite and write else None
        outer = self._held.write
        if lock is not None:
            lock.acquire()
        try:
            with self.engine.connect() as conn:
                self._held.write = write
                with conn.begin():
                    yield conn
        finally:
            self._held.write = outer
            if lock is not None:
                lock.release()

    def run(self, fn: Any, *, write: bool = True) -> Any:
        """Run ``fn(conn)`` in a transaction, retrying SQLite's rare lock timeouts and, on
        PostgreSQL, transactions that lost a race (a serialization failure: a time-step another
        verification took, store/codes.py; or a deadlock) — ``fn`` must be safe to run again."""
        attempt = 0
        while True:
            try:
                with self.transaction(write=write) as conn:
                    return fn(conn)
            except OperationalError as exc:
                attempt += 1
                if self._held.inline and is_locked(exc):
                    raise WouldBlock from exc
                if not self.is_sqlite and lost_race(exc) and attempt <= _RACE_RETRIES:
                    log.info("retrying a transaction: %s", getattr(exc.orig, "sqlstate", None))
                    continue
                if not (self.is_sqlite and is_locked(exc)) or attempt > _SQLITE_BUSY_RETRIES:
                    raise
                time.sleep(0.01 * attempt)

    # --- the request threads --------------------------------------------------------------------

    async def run_unit(self, fn: Callable[[], T], *, inline: bool = False) -> T:
        """Run ``fn`` (a unit of database work) on a request thread; or, when ``inline`` and the
        database is SQLite, right here on the event loop if its transaction can start without
        waiting. A short SQLite transaction costs less than the hop to a thread and back (the
        hop is ~100 µs, a verification's queries ~300 µs), and with SQLite's busy handler off it
        cannot wait. When this process's writer lock is taken, the unit awaits its release here;
        when another process holds SQLite's lock, the unit goes to a thread, which waits."""
        if inline and self.is_sqlite:
            checkpoints = self.checkpoints
            while True:
                if checkpoints.wants_lock:  # waiting for the writer lock: the loop must not take it
                    await self._writer.changed(lambda: checkpoints.wants_lock)
                    continue
                if not self._inline.acquire(blocking=False):
                    break  # another loop (test clients) is using the inline connection
                held = self._held
                held.keep = held.inline = True
                failure: BaseException | None = None
                try:
                    result = fn()
                except Exception as exc:  # noqa: BLE001 - raised below, once the group is done
                    failure = exc
                finally:
                    group, held.group = held.group, None
                    held.keep = held.inline = False
                    self._inline.release()
                    checkpoints.count_unit()
                if group is not None:  # answer only once what the unit read or wrote is committed
                    await group.committed()
                if failure is None:
                    return result
                if group is not None or not isinstance(failure, WouldBlock):
                    raise failure
                if not isinstance(failure, WriterBusy):
                    break  # another process holds SQLite's lock: a thread waits for it
                await self._writer.changed(lambda: self._writer.locked() or checkpoints.wants_lock)
        return await self.in_thread(fn)

    async def in_thread(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on one of the request threads (with the caller's context variables, so log
        lines carry the request id)."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._threads(), context.run, fn)

    def _threads(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self.threads, thread_name_prefix="twostep-db", initializer=self._keep_connection
            )
        return self._executor

    def _keep_connection(self) -> None:
        self._held.keep = True

    def dispose(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        with self._registry:
            held, self._all_held = self._all_held, []
        for conn in held:
            with contextlib.suppress(Exception):  # closing at shutdown, best effort
                if self.batching:
                    conn.invalidate()  # in autocommit: not to go back to the pool
                conn.close()
        self._held, self._loop = Held(), Slot()  # forget every thread's kept connection
        self.engine.dispose()
