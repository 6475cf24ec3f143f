"""Transactions on the connections the request threads and the event loop keep (on SQLite begun
and ended on the driver): a unit's writes commit together or not at all, whether they were run
through the driver or through SQLAlchemy Core, and the connection serves the next unit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, text

from twostep.services.runtime import Runtime
from twostep.store import raw

INSERT = raw.Sql("INSERT INTO tx_probe (v) VALUES (?)")


class Refused(Exception):
    pass


def _unit(runtime: Runtime, fn: Callable[[Connection], Any], *, inline: bool) -> Any:
    """``fn`` in one transaction on a kept connection: the event loop's (inline) or a request
    thread's."""

    async def main() -> Any:
        return await runtime.db.run_unit(lambda: runtime.db.run(fn), inline=inline)

    return asyncio.run(main())


def _values(runtime: Runtime) -> list[str]:
    return runtime.db.run(
        lambda conn: list(conn.execute(text("SELECT v FROM tx_probe ORDER BY v")).scalars()),
        write=False,
    )


@pytest.fixture
def probe(runtime: Runtime) -> Runtime:
    runtime.db.run(lambda conn: conn.execute(text("CREATE TABLE tx_probe (v VARCHAR(20))")))
    return runtime


@pytest.mark.parametrize("inline", [False, True], ids=["request-thread", "inline"])
def test_driver_and_core_writes_commit_together(probe: Runtime, inline: bool) -> None:
    def work(conn: Connection) -> None:
        raw.run(conn, INSERT, ("driver",))
        conn.execute(text("INSERT INTO tx_probe (v) VALUES ('core')"))
        raw.run(conn, INSERT, ("driver-after-core",))

    _unit(probe, work, inline=inline)
    assert _values(probe) == ["core", "driver", "driver-after-core"]


@pytest.mark.parametrize("inline", [False, True], ids=["request-thread", "inline"])
@pytest.mark.parametrize("with_core", [False, True], ids=["driver-only", "with-core"])
def test_a_unit_that_fails_leaves_nothing_and_the_next_one_works(
    probe: Runtime, inline: bool, with_core: bool
) -> None:
    def failing(conn: Connection) -> None:
        raw.run(conn, INSERT, ("lost",))
        if with_core:
            conn.execute(text("INSERT INTO tx_probe (v) VALUES ('lost-core')"))
        raise Refused

    with pytest.raises(Refused):
        _unit(probe, failing, inline=inline)
    _unit(probe, lambda conn: raw.run(conn, INSERT, ("kept",)), inline=inline)
    assert _values(probe) == ["kept"]


@pytest.mark.parametrize("inline", [False, True], ids=["request-thread", "inline"])
def test_a_statement_error_rolls_back_the_unit(probe: Runtime, inline: bool) -> None:
    def failing(conn: Connection) -> None:
        raw.run(conn, INSERT, ("lost",))
        raw.run(conn, raw.Sql("INSERT INTO no_such_table VALUES (?)"), (1,))

    with pytest.raises(Exception, match="no_such_table"):
        _unit(probe, failing, inline=inline)
    _unit(probe, lambda conn: raw.run(conn, INSERT, ("kept",)), inline=inline)
    assert _values(probe) == ["kept"]


def test_a_transaction_inside_another_on_one_thread_gets_its_own(probe: Runtime) -> None:
    def outer(conn: Connection) -> list[str]:
        raw.run(conn, INSERT, ("outer",))
        # another connection: it does not see the outer transaction's uncommitted row
        return probe.db.run(
            lambda inner: [r[0] for r in raw.many(inner, raw.Sql("SELECT v FROM tx_probe"))],
            write=False,
        )

    assert _unit(probe, outer, inline=False) == []
    assert _values(probe) == ["outer"]
