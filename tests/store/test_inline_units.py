"""Units of work marked inline (Database.run_unit): on SQLite they run on the event loop when
their transaction can start at once; when a writer of this process holds the lock they await it
on the loop (which goes on serving meanwhile), and when another process holds SQLite's lock they
move to a request thread and wait there; on PostgreSQL they always run on a request thread.
Either way the work is done exactly once and nothing fails because of the contention."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, make_url, text
from starlette.testclient import TestClient

from tests.api.helpers import headers, register
from tests.factories import queued
from tests.support import Templates, make_runtime, make_settings
from twostep.services.runtime import Runtime

HOLD_SECONDS = 0.3


def _thread_of_unit(runtime: Runtime) -> tuple[int, int]:
    """(the event loop's thread, the thread the unit's transaction ran on)."""
    loop_thread, unit_thread, _ticks = _run_unit_while_ticking(runtime)
    return loop_thread, unit_thread


def _run_unit_while_ticking(runtime: Runtime) -> tuple[int, int, int]:
    """As _thread_of_unit, and how often another task on the loop ran while the unit waited."""

    async def main() -> tuple[int, int, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        unit = lambda: runtime.db.run(lambda conn: threading.get_ident())  # noqa: E731
        unit_thread = await runtime.db.run_unit(unit, inline=True)
        ticker.cancel()
        return threading.get_ident(), unit_thread, ticks

    return asyncio.run(main())


def test_uncontended_unit_runs_on_the_loop_only_on_sqlite(runtime: Runtime) -> None:
    loop_thread, unit_thread = _thread_of_unit(runtime)
    assert (unit_thread == loop_thread) is runtime.db.is_sqlite


def test_unit_awaits_this_processes_writer_without_blocking_the_loop(runtime: Runtime) -> None:
    held = threading.Event()

    def writer() -> None:
        with runtime.db.transaction(write=True) as conn:
            conn.execute(text("UPDATE applications SET name = name"))
            held.set()
            time.sleep(HOLD_SECONDS)

    thread = threading.Thread(target=writer)
    thread.start()
    held.wait(5)
    started = time.monotonic()
    loop_thread, unit_thread, ticks = _run_unit_while_ticking(runtime)
    waited = time.monotonic() - started
    thread.join()
    # SQLite: one writer at a time, so it waited for the other to commit, on the loop, which
    # served its other tasks meanwhile; PostgreSQL: a request thread, as always
    assert (unit_thread == loop_thread) is runtime.db.is_sqlite
    if runtime.db.is_sqlite:
        assert waited >= HOLD_SECONDS / 2
        assert ticks >= 5


@contextmanager
def _foreign_write_lock(runtime: Runtime) -> Iterator[None]:
    """Another process's transaction holding the write lock (SQLite's file lock; PostgreSQL's
    table locks on what sending a code writes) for HOLD_SECONDS after the block starts."""
    if runtime.db.is_sqlite:
        path = make_url(runtime.settings.database_url).database
        assert path is not None
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        release = other.execute
    else:
        conn: Connection = runtime.db.engine.connect()
        conn.begin()
        conn.execute(text("LOCK TABLE otp_codes, outbox IN ACCESS EXCLUSIVE MODE"))
        release = lambda _sql: conn.rollback()  # noqa: E731
    timer = threading.Timer(HOLD_SECONDS, lambda: release("ROLLBACK"))
    timer.start()
    try:
        yield
    finally:
        timer.join()
        if runtime.db.is_sqlite:
            other.close()
        else:
            conn.close()


def test_sms_waits_out_another_processes_lock_and_is_queued_once(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    user = register(client, app_key, "201-555-0134", "ann@example.com")
    with _foreign_write_lock(runtime):
        started = time.monotonic()
        response = client.get(f"/protected/json/sms/{user}", headers=headers(app_key))
        waited = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert waited >= HOLD_SECONDS / 2
    assert len(queued(runtime, "sms")) == 1


def test_event_loops_on_many_threads_share_one_inline_connection(runtime: Runtime) -> None:
    """A test client runs each request's loop on a new thread; none may keep a connection."""
    threads = runtime.db.engine.pool.size() * 3  # type: ignore[attr-defined]
    results: list[tuple[int, int]] = []
    for _ in range(threads):
        thread = threading.Thread(target=lambda: results.append(_thread_of_unit(runtime)))
        thread.start()
        thread.join(10)
    assert len(results) == threads
    assert runtime.db.engine.pool.checkedout() <= 1 + runtime.db.threads  # type: ignore[attr-defined]


@pytest.fixture
def sqlite_runtime(templates: Templates, tmp_path: Path) -> Iterator[Runtime]:
    with templates.copy("sqlite", tmp_path) as url:
        rt = make_runtime(make_settings(url, tmp_path))
        yield rt
        rt.db.dispose()


def test_inline_writes_are_checkpointed_off_the_loop(sqlite_runtime: Runtime) -> None:
    """The inline connection never checkpoints (that syncs to disk); a request thread does, so the
    WAL stays small however many inline writes there are."""
    db = sqlite_runtime.db
    db.checkpoints.every = 50
    db.run(lambda c: c.exec_driver_sql("CREATE TABLE scratch (id INTEGER PRIMARY KEY, body TEXT)"))
    row = "x" * 4000  # a page each: 3,000 of them are ~12 MB of WAL if nothing checkpoints

    def insert() -> None:
        db.run(lambda c: c.exec_driver_sql("INSERT INTO scratch (body) VALUES (?)", (row,)))

    async def main() -> None:
        for _ in range(3000):
            await db.run_unit(insert, inline=True)

    asyncio.run(main())
    path = make_url(sqlite_runtime.settings.database_url).database
    assert db.run(lambda c: c.exec_driver_sql("SELECT count(*) FROM scratch").scalar()) == 3000
    assert Path(f"{path}-wal").stat().st_size < 8_000_000  # ~0.7 MB measured
