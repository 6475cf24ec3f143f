"""Statements compiled once and run on the driver (store/compiled.py) behave like SQLAlchemy's
own execution on both databases: column types convert values both ways, counts and RETURNING
work, and driver errors arrive as SQLAlchemy's exceptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, bindparam, column, insert, select, update
from sqlalchemy.exc import IntegrityError

from twostep.services.runtime import Runtime
from twostep.store.compiled import Compiled
from twostep.store.schema import applications
from twostep.store.upsert import insert_ignore_statement

WHEN = datetime(2026, 11, 26, 12, 30, 15, 123456, tzinfo=UTC)
COLUMNS = ("public_id", "name", "settings", "created_at", "updated_at")

INSERT = Compiled(
    insert(applications)
    .values({c: bindparam(c) for c in COLUMNS})
    .returning(applications.c.id, applications.c.created_at)
)
BY_NAME = Compiled(
    select(applications.c.id, applications.c.settings, applications.c.updated_at.label("changed"))
    .where(applications.c.name == bindparam("name"))
    .order_by(applications.c.id)
)
RENAME = Compiled(
    update(applications)
    .where(applications.c.name == bindparam("old"))
    .values(name=bindparam("new"))
)
INSERT_IGNORE = Compiled(
    lambda dialect: insert_ignore_statement(dialect, applications, COLUMNS, ["public_id"])
)


def _values(public_id: str, name: str, **settings: object) -> dict[str, object]:
    return {
        "public_id": public_id,
        "name": name,
        "settings": settings,
        "created_at": WHEN,
        "updated_at": WHEN + timedelta(hours=1),
    }


def test_types_convert_both_ways_and_returning_works(runtime: Runtime) -> None:
    def work(conn: Connection) -> tuple[list[object], list[object]]:
        returned = INSERT.rows(conn, **_values("compiled-1", "Compiled", nested={"a": [1, 2]}))
        return returned, BY_NAME.rows(conn, name="Compiled")

    returned, found = runtime.db.run(work)
    assert len(returned) == 1
    new_id, created = returned[0]
    assert created == WHEN
    assert created.tzinfo is not None
    assert [(r.id, r.settings, r.changed) for r in found] == [
        (new_id, {"nested": {"a": [1, 2]}}, WHEN + timedelta(hours=1))
    ]
    assert runtime.db.run(lambda conn: BY_NAME.first(conn, name="nobody")) is None


def test_counts_rows_and_ignores_conflicts(runtime: Runtime) -> None:
    def work(conn: Connection) -> tuple[int, int, int, int]:
        first = INSERT_IGNORE.run(conn, **_values("compiled-2", "Twice"))
        again = INSERT_IGNORE.run(conn, **_values("compiled-2", "Twice"))
        renamed = RENAME.run(conn, old="Twice", new="Once")
        none = RENAME.run(conn, old="Twice", new="Never")
        return first, again, renamed, none

    assert runtime.db.run(work) == (1, 0, 1, 0)
    assert [r.id for r in runtime.db.run(lambda conn: BY_NAME.rows(conn, name="Once"))]


def test_driver_errors_arrive_as_sqlalchemy_errors(runtime: Runtime) -> None:
    runtime.db.run(lambda conn: INSERT.rows(conn, **_values("compiled-3", "Dup")))
    with pytest.raises(IntegrityError):
        runtime.db.run(lambda conn: INSERT.rows(conn, **_values("compiled-3", "Dup")))
    # the transaction rolled back and the connection is still usable
    assert len(runtime.db.run(lambda conn: BY_NAME.rows(conn, name="Dup"))) == 1


def test_in_lists_are_refused(runtime: Runtime) -> None:
    statement = Compiled(select(applications.c.id).where(column("id").in_(bindparam("ids"))))
    with pytest.raises(ValueError, match="IN lists"):
        runtime.db.run(lambda conn: statement.rows(conn, ids=[1, 2]))


def test_timestamps_are_the_same_whichever_way_they_were_written(runtime: Runtime) -> None:
    """A row written by Core is read back alike by a compiled statement, and the other way round
    (on SQLite the text must match exactly: range comparisons in SQL compare it)."""
    odd = datetime(2026, 1, 2, 3, 4, 5, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))

    def work(conn: Connection) -> tuple[list[object], list[object]]:
        conn.execute(insert(applications).values(**_values("core-1", "ByCore")))
        values = _values("compiled-4", "ByCompiled")
        INSERT.rows(conn, **{**values, "updated_at": odd})
        conn.execute(
            update(applications).where(applications.c.public_id == "core-1").values(updated_at=odd)
        )
        by_core = conn.execute(
            select(applications.c.name, applications.c.updated_at)
            .where(applications.c.name.in_(["ByCore", "ByCompiled"]))
            .order_by(applications.c.name)
        ).all()
        by_compiled = [
            (name, BY_NAME.first(conn, name=name).changed) for name in ("ByCompiled", "ByCore")
        ]
        return [tuple(r) for r in by_core], by_compiled

    by_core, by_compiled = runtime.db.run(work)
    assert by_core == by_compiled == [("ByCompiled", odd), ("ByCore", odd)]
    raw_text = runtime.db.run(
        lambda conn: list(
            conn.exec_driver_sql(
                "SELECT updated_at FROM applications WHERE name IN ('ByCore', 'ByCompiled')"
            ).scalars()
        ),
        write=False,
    )
    assert len(set(map(str, raw_text))) == 1  # stored identically by both
