"""Group commit (store/commit_group.py): the inline SQLite units one turn of the event loop runs
share one COMMIT; none answers before it; a unit that fails is undone alone; a COMMIT that fails
fails every unit of the group and keeps none of their writes; and blocking work on the loop's
thread does not wait for the group (it would wait forever)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from tests.support import Templates, make_runtime, make_settings
from twostep.store.db import Database


class Refused(Exception):
    pass


@contextmanager
def scratch_database(
    templates: Templates, tmp_path: Path, group_commit: bool
) -> Iterator[Database]:
    with templates.copy("sqlite", tmp_path) as url:
        rt = make_runtime(make_settings(url, tmp_path, sqlite_group_commit=group_commit))
        rt.db.run(
            lambda c: c.exec_driver_sql(
                "CREATE TABLE scratch (id INTEGER PRIMARY KEY, body TEXT NOT NULL, "
                "parent INTEGER REFERENCES scratch (id))"
            )
        )
        yield rt.db
        rt.db.dispose()


@pytest.fixture(params=[True, False], ids=["grouped", "one-by-one"])
def db(request: pytest.FixtureRequest, templates: Templates, tmp_path: Path) -> Iterator[Database]:
    with scratch_database(templates, tmp_path, request.param) as database:
        yield database


@pytest.fixture
def grouped(templates: Templates, tmp_path: Path) -> Iterator[Database]:
    with scratch_database(templates, tmp_path, True) as database:
        yield database


def traced(db: Database) -> list[str]:
    """Every statement run from now on by connections taken from the pool from now on (the
    inline connection is taken by the first inline unit), in order."""
    statements: list[str] = []

    @event.listens_for(db.engine, "checkout")
    def trace(driver: Any, _record: Any, _proxy: Any) -> None:
        driver.set_trace_callback(statements.append)

    return statements


def insert(db: Database, body: str, **extra: Any) -> Callable[[], None]:
    def unit() -> None:
        def work(conn: Any) -> None:
            if extra.get("defer"):
                conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            conn.exec_driver_sql(
                "INSERT INTO scratch (body, parent) VALUES (?, ?)", (body, extra.get("parent"))
            )
            if extra.get("fail"):
                raise Refused

        db.run(work)

    return unit


def bodies(db: Database) -> list[str]:
    rows = db.run(lambda c: c.exec_driver_sql("SELECT body FROM scratch ORDER BY body").all())
    return [r[0] for r in rows]


def together(db: Database, *units: Callable[[], None]) -> list[Any]:
    """Run the units inline, all started in one turn of a new event loop."""

    async def main() -> list[Any]:
        runs = [db.run_unit(u, inline=True) for u in units]
        return await asyncio.gather(*runs, return_exceptions=True)

    return asyncio.run(main())


def test_units_of_one_turn_share_one_commit(db: Database) -> None:
    statements = traced(db)
    results = together(db, *(insert(db, b) for b in "abcd"))
    assert results == [None] * 4
    assert bodies(db) == ["a", "b", "c", "d"]
    commits = statements.count("COMMIT")
    assert commits == (2 if db.group_commit else 5)  # the last one: bodies() above
    assert statements.count("SAVEPOINT unit") == (3 if db.group_commit else 0)


def test_no_unit_answers_before_the_commit(grouped: Database) -> None:
    order = traced(grouped)

    async def answered(unit: Callable[[], None]) -> None:
        await grouped.run_unit(unit, inline=True)
        order.append("answered")

    async def main() -> None:
        await asyncio.gather(*(answered(insert(grouped, b)) for b in "abc"))

    asyncio.run(main())
    told = [s for s in order if s in ("COMMIT", "answered")]
    assert told == ["COMMIT", "answered", "answered", "answered"]


def test_a_unit_that_fails_is_undone_alone(db: Database) -> None:
    results = together(db, insert(db, "a"), insert(db, "b", fail=True), insert(db, "c"))
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], Refused)
    assert bodies(db) == ["a", "c"]


def test_the_first_unit_failing_leaves_the_rest_grouped(db: Database) -> None:
    results = together(db, insert(db, "a", fail=True), insert(db, "b"), insert(db, "c"))
    assert isinstance(results[0], Refused)
    assert bodies(db) == ["b", "c"]


def test_a_failed_commit_fails_every_unit_of_the_group(grouped: Database) -> None:
    """A deferred foreign key is checked at COMMIT: the group's one COMMIT fails, so every unit
    in it reports the failure and none of their writes is kept."""
    bad = insert(grouped, "orphan", parent=999, defer=True)
    results = together(grouped, bad, insert(grouped, "b"), insert(grouped, "c"))
    assert all(isinstance(r, DBAPIError) for r in results), results
    assert bodies(grouped) == []
    assert together(grouped, insert(grouped, "d")) == [None]  # and the next units go on
    assert bodies(grouped) == ["d"]


def test_blocking_work_on_the_loops_thread_commits_the_group_first(db: Database) -> None:
    async def main() -> None:
        pending = asyncio.ensure_future(db.run_unit(insert(db, "a"), inline=True))
        await asyncio.sleep(0)  # the unit runs; its group (if any) commits at the next turn
        insert(db, "b")()  # not a unit: needs the writer lock now, on the loop's thread
        await pending

    thread = threading.Thread(target=lambda: asyncio.run(main()))
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the loop's thread waited for a lock its own group held"
    assert bodies(db) == ["a", "b"]


def test_after_commit_work_sees_what_the_group_committed(db: Database) -> None:
    """Wake-ups (long polls, the worker) run after the commit: woken readers must find the rows."""
    seen: list[list[str]] = []

    def unit(body: str) -> Callable[[], None]:
        def run() -> None:
            insert(db, body)()
            db.after_commit([lambda: seen.append(bodies(db))])

        return run

    together(db, unit("a"), unit("b"))
    if db.group_commit:  # both hooks run after the one commit
        assert seen == [["a", "b"], ["a", "b"]]
    else:
        assert seen == [["a"], ["a", "b"]]


def test_a_unit_cancelled_while_it_waits_leaves_the_group_alone(grouped: Database) -> None:
    """A client that goes away cancels its request's task while the unit waits for the COMMIT:
    the other units of the group still commit and answer, and the cancelled unit's write, made
    in the same transaction, is kept (it was done; only its answer is not wanted)."""

    async def main() -> list[Any]:
        runs = [
            asyncio.ensure_future(grouped.run_unit(insert(grouped, b), inline=True)) for b in "abc"
        ]
        await asyncio.sleep(0)  # every unit has run and waits for the group's COMMIT
        runs[1].cancel()
        return await asyncio.gather(*runs, return_exceptions=True)

    results = asyncio.run(main())
    assert results[0] is None
    assert isinstance(results[1], asyncio.CancelledError)
    assert results[2] is None
    assert bodies(grouped) == ["a", "b", "c"]
