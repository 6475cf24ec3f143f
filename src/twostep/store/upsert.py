"""``INSERT … ON CONFLICT DO NOTHING`` for both databases (a failed plain INSERT would abort the
whole PostgreSQL transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Insert, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignore_statement(
    dialect_name: str, table: Table, columns: Sequence[str], conflict: Sequence[str]
) -> Insert:
    """The same, as a statement of named ``bindparam``s (one per column) for store.compiled."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    statement: Insert = (
        dialect.insert(table).values(values).on_conflict_do_nothing(index_elements=conflict)
    )
    return statement


def insert_ignore(
    conn: Connection, table: Table, values: dict[str, Any], conflict: Sequence[str]
) -> bool:
    """Insert unless a row with the same ``conflict`` columns exists; True if a row was inserted."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict)
    # psycopg reports -1 for a plain INSERT unless SQLAlchemy is asked to keep the count
    return conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount == 1
