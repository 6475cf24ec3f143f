"""Core statements compiled once per database and run on the driver's cursor.

SQLAlchemy builds, caches, compiles and post-processes every statement it executes: 100-300 µs
each on the machines we measure, several times the cost of the query itself, and the busiest
endpoints run a handful of them per request. A ``Compiled`` statement keeps its definition in
Core (the schema, the column types and both SQL dialects still come from SQLAlchemy) but is
compiled to SQL text once per dialect; an execution only converts the parameters and results
with the column types' own processors and calls the driver, inside the transaction the edge
opened (store/db.py). Statements take named ``bindparam``s; literals in the definition stay.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BindParameter, ClauseElement, Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler

from twostep.store import raw
from twostep.store.types import UTCDateTime

Builder = Callable[[str], ClauseElement]  # dialect name -> statement
Processor = Callable[[Any], Any]


class _Plan:
    """One statement compiled for one dialect."""

    __slots__ = ("binds", "defaults", "positions", "results", "row", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.sql: str = compiled.string
        binds: dict[str, BindParameter[Any]] = compiled.binds
        if any(bind.expanding for bind in binds.values()):
            raise ValueError("IN lists are expanded per execution: not a compiled statement")
        # positional drivers (sqlite3) take the values in this order; psycopg takes a mapping
        self.positions: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positiontup is not None else None
        )
        self.defaults: dict[str, Any] = {
            name: bind.effective_value for name, bind in binds.items() if not bind.required
        }
        self.binds: tuple[tuple[str, Processor], ...] = tuple(
            (name, processor)
            for name, bind in binds.items()
            if (processor := _bind_processor(bind.type, dialect)) is not None
        )
        columns = _result_columns(statement)
        self.row: Any = namedtuple("Row", [c.key for c in columns]) if columns else None
        self.results: tuple[tuple[int, Processor], ...] = tuple(
            (i, processor)
            for i, c in enumerate(columns)
            if (processor := _result_processor(c.type, dialect)) is not None
        )

    def arguments(self, params: Mapping[str, Any]) -> Any:
        values = {**self.defaults, **params} if self.defaults else dict(params)
        for name, processor in self.binds:
            values[name] = processor(values[name])
        if self.positions is None:
            return values
        return tuple(values[name] for name in self.positions)

    def shape(self, rows: list[Any]) -> list[Any]:
        make = self.row._make
        if not self.results:
            return [make(r) for r in rows]
        shaped = []
        for r in rows:
            values = list(r)
            for i, processor in self.results:
                values[i] = processor(values[i])
            shaped.append(make(values))
        return shaped


def _bind_processor(type_: Any, dialect: Dialect) -> Processor | None:
    if isinstance(type_, UTCDateTime) and dialect.name == "sqlite":
        return _to_sqlite_utc
    processor: Processor | None = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor


def _result_processor(type_: Any, dialect: Dialect) -> Processor | None:
    if isinstance(type_, UTCDateTime) and dialect.name == "sqlite":
        return _from_sqlite_utc
    processor: Processor | None = type_.dialect_impl(dialect).result_processor(dialect, None)
    return processor


# UTCDateTime on SQLite, in one step instead of the type's processor and then SQLite DATETIME's
# (the same text both ways: ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC; tests/store/test_compiled.py)
def _to_sqlite_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return raw.sqlite_text(value)


_from_sqlite_utc = raw.parse_ts


def _result_columns(statement: ClauseElement) -> list[Any]:
    """What a SELECT selects, or what an INSERT/UPDATE/DELETE returns (none without RETURNING)."""
    return list(getattr(statement, "exported_columns", ()))


class Compiled:
    """A statement (or, when the dialects need different SQL, a builder taking the dialect's
    name) that is compiled on first use on each database."""

    __slots__ = ("_build", "_plans")

    def __init__(self, statement: ClauseElement | Builder) -> None:
        self._build = statement
        self._plans: dict[str, _Plan] = {}

    def _plan(self, conn: Connection) -> _Plan:
        dialect = conn.dialect
        plan = self._plans.get(dialect.name)
        if plan is None:
            build = self._build
            statement = build if isinstance(build, ClauseElement) else build(dialect.name)
            plan = self._plans[dialect.name] = _Plan(statement, dialect)
        return plan

    def _execute(self, conn: Connection, params: Mapping[str, Any]) -> tuple[_Plan, Any]:
        plan = self._plan(conn)
        return plan, raw.execute(conn, plan.sql, plan.arguments(params))

    def rows(self, conn: Connection, **params: Any) -> list[Any]:
        plan, cursor = self._execute(conn, params)
        try:
            return plan.shape(cursor.fetchall())
        finally:
            cursor.close()

    def first(self, conn: Connection, **params: Any) -> Any | None:
        plan, cursor = self._execute(conn, params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else plan.shape([row])[0]

    def scalars(self, conn: Connection, **params: Any) -> list[Any]:
        return [row[0] for row in self.rows(conn, **params)]

    def later(self, conn: Connection, **params: Any) -> None:
        """A write whose result nobody reads, sent with the next statement (raw.later)."""
        plan = self._plan(conn)
        raw.defer(conn, plan.sql, plan.arguments(params))

    def run(self, conn: Connection, **params: Any) -> int:
        """Execute a write; the number of rows it touched."""
        _plan, cursor = self._execute(conn, params)
        try:
            count: int = cursor.rowcount
            return count
        finally:
            cursor.close()
