"""Held-back messages (store/batching.py): on PostgreSQL a request thread's transaction sends its
BEGIN with its first statement and the writes nobody reads (``raw.later``) with the next statement
or with COMMIT. Whatever the batching, a transaction must behave as if every statement had been
sent at once: writes seen by later statements, an error anywhere failing the whole unit, values
arriving exactly as given. Both databases run the behaviour tests; round trips are counted on
PostgreSQL from libpq's protocol trace."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from psycopg import pq
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from tests.api.device_flows import enroll_by_phone, new_request, pending
from tests.api.helpers import register
from tests.conftest import START
from tests.device_client import shown_digest, statement
from tests.factories import user_with_device
from tests.support import Templates, make_runtime, make_settings, new_app
from twostep.api.app import create_app
from twostep.clock import FrozenClock
from twostep.core import crypto
from twostep.services import approvals, device_auth, verify
from twostep.services.device_auth import SignedRequest
from twostep.services.runtime import Tx
from twostep.store import raw
from twostep.store.db import Database

INSERT = raw.Sql("INSERT INTO batch_probe (v) VALUES (?)")
COUNT = raw.Sql("SELECT count(*) FROM batch_probe")


class Refused(Exception):
    pass


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """One request thread, so that every unit runs on the same kept connection."""
    database = Database(database_url, threads=1)
    database.run(lambda conn: conn.execute(text("CREATE TABLE batch_probe (v TEXT NOT NULL)")))
    yield database
    database.dispose()


def unit(db: Database, fn: Callable[[Connection], Any]) -> Any:
    async def main() -> Any:
        return await db.run_unit(lambda: db.run(fn))

    return asyncio.run(main())


def values(db: Database) -> list[str]:
    query = text("SELECT v FROM batch_probe ORDER BY v")
    found: list[str] = db.run(lambda c: list(c.execute(query).scalars()))
    return found


def test_held_back_writes_are_seen_by_the_next_statement(db: Database) -> None:
    def work(conn: Connection) -> list[int]:
        raw.later(conn, INSERT, ("a",))
        raw.later(conn, INSERT, ("b",))
        seen = [raw.one(conn, COUNT)[0]]  # type: ignore[index]
        raw.later(conn, INSERT, ("c",))
        seen.append(conn.execute(text("SELECT count(*) FROM batch_probe")).scalar_one())
        return seen

    assert unit(db, work) == [2, 3]
    assert values(db) == ["a", "b", "c"]


def test_a_held_back_write_that_fails_fails_the_whole_unit(db: Database) -> None:
    def work(conn: Connection) -> None:
        raw.run(conn, INSERT, ("sent",))
        raw.later(conn, INSERT, ("held",))
        raw.later(conn, INSERT, (None,))  # NOT NULL: refused, at COMMIT on PostgreSQL

    with pytest.raises(DBAPIError, match=r"(?i)null"):
        unit(db, work)
    assert values(db) == []
    unit(db, lambda conn: raw.later(conn, INSERT, ("next",)))  # the connection still serves
    assert values(db) == ["next"]


def test_a_unit_that_raises_drops_what_it_held_back(db: Database) -> None:
    def work(conn: Connection) -> None:
        raw.later(conn, INSERT, ("never",))
        raise Refused

    with pytest.raises(Refused):
        unit(db, work)
    assert values(db) == []


def test_a_statement_refused_inside_a_savepoint_is_undone_there(db: Database) -> None:
    def refused_inside(conn: Connection) -> None:
        with raw.savepoint(conn):
            raw.later(conn, INSERT, ("inside",))
            raw.run(conn, INSERT, (None,))  # NOT NULL: refused here

    def work(conn: Connection) -> None:
        raw.later(conn, INSERT, ("before",))
        with pytest.raises(DBAPIError):
            refused_inside(conn)
        raw.later(conn, INSERT, ("after",))

    unit(db, work)
    assert values(db) == ["after", "before"]


def test_a_block_that_raises_inside_a_savepoint_is_undone_and_the_rest_kept(db: Database) -> None:
    def refused_inside(conn: Connection) -> None:
        with raw.savepoint(conn):
            raw.later(conn, INSERT, ("held",))
            raw.run(conn, INSERT, ("sent",))
            raw.later(conn, INSERT, ("held after",))
            raise Refused

    def work(conn: Connection) -> None:
        raw.run(conn, INSERT, ("before",))
        with pytest.raises(Refused):
            refused_inside(conn)
        raw.later(conn, INSERT, ("after",))

    unit(db, work)
    assert values(db) == ["after", "before"]


def test_a_held_back_write_refused_after_its_savepoint_fails_the_unit(db: Database) -> None:
    """As with any held-back write, its error surfaces where it is sent: here at COMMIT."""

    def work(conn: Connection) -> None:
        raw.run(conn, INSERT, ("before",))
        with raw.savepoint(conn):
            raw.later(conn, INSERT, (None,))

    with pytest.raises(DBAPIError, match=r"(?i)null"):
        unit(db, work)
    assert values(db) == []


HOSTILE = [
    "it's",
    "'); DROP TABLE batch_probe; --",
    "back\\slash \\x00 $1 %s %(v)s ?",
    "ünïcödé ✓ 𝄞",
    "",
    "x" * 5000,
]


def test_values_arrive_exactly_as_given(db: Database) -> None:
    def work(conn: Connection) -> list[str]:
        for value in HOSTILE:
            raw.later(conn, INSERT, (value,))
        found = raw.many(conn, raw.Sql("SELECT v FROM batch_probe WHERE v = ?"), (HOSTILE[1],))
        return [r[0] for r in found]

    assert unit(db, work) == [HOSTILE[1]]
    assert sorted(values(db)) == sorted(HOSTILE)


def test_a_percent_sign_in_a_statement_stays_one(db: Database) -> None:
    """With or without values, sent at once or held back into a batch that psycopg binds as a
    whole (where ``%`` is special)."""
    with_value = raw.Sql("INSERT INTO batch_probe (v) VALUES ('100%' || ?)")
    without = raw.Sql("INSERT INTO batch_probe (v) VALUES ('50%')")

    def work(conn: Connection) -> None:
        raw.later(conn, with_value, (" %s",))
        raw.later(conn, without)
        raw.run(conn, with_value, ("!",))
        raw.later(conn, without)

    unit(db, work)
    assert values(db) == ["100% %s", "100%!", "50%", "50%"]


def test_typed_values_round_trip(db: Database) -> None:
    db.run(
        lambda conn: conn.execute(
            text("CREATE TABLE typed_probe (n BIGINT, at TIMESTAMP WITH TIME ZONE, b BYTEA)")
        )
    )
    at = datetime(2026, 11, 26, 15, 4, 5, 123456, tzinfo=UTC)
    blob = bytes(range(256))
    put = raw.Sql("INSERT INTO typed_probe (n, at, b) VALUES (?, ?, ?)")
    get = raw.Sql("SELECT n, at, b FROM typed_probe WHERE n = ?")

    def work(conn: Connection) -> tuple[Any, ...] | None:
        raw.later(conn, put, (2**62, raw.ts(conn, at), blob))
        return raw.one(conn, get, (2**62,))

    row = unit(db, work)
    assert row is not None
    assert (row[0], raw.parse_ts(row[1]), raw.as_bytes(row[2])) == (2**62, at, blob)


# --- PostgreSQL: round trips and the statements prepared on the connection ------------------


@pytest.fixture
def pg(templates: Templates, tmp_path: Path) -> Iterator[Database]:
    """Batching is PostgreSQL's (SQLite runs every statement at once, in process)."""
    with templates.copy("postgresql", tmp_path) as url:
        database = Database(url, threads=1)
        database.run(lambda c: c.execute(text("CREATE TABLE batch_probe (v TEXT NOT NULL)")))
        yield database
        database.dispose()


def round_trips(db: Database, fn: Callable[[Connection], Any], trace: Path) -> int:
    """Run ``fn`` as a unit; how many times the client waited for the server: each simple query
    (``Query``) and each extended-protocol batch (ended by ``Sync``) is one round trip."""
    drivers: list[Any] = []

    def traced(conn: Connection) -> Any:
        driver = conn.connection.dbapi_connection
        drivers.append(driver)
        driver.pgconn.trace(out.fileno())  # type: ignore[union-attr]
        driver.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)  # type: ignore[union-attr]
        return fn(conn)

    with trace.open("w") as out:
        try:
            unit(db, traced)
        finally:
            drivers[0].pgconn.untrace()
    sent = [line.split("\t") for line in trace.read_text().splitlines() if line.startswith("F")]
    return sum(1 for fields in sent if len(fields) > 2 and fields[2] in ("Query", "Sync"))


def test_begin_travels_with_the_first_statement_and_writes_with_commit(
    pg: Database, tmp_path: Path
) -> None:
    def work(conn: Connection) -> None:
        raw.one(conn, COUNT)
        raw.later(conn, INSERT, ("a",))
        raw.later(conn, INSERT, ("b",))

    # BEGIN + SELECT; INSERT + INSERT + COMMIT (one at a time: five)
    assert round_trips(pg, work, tmp_path / "trace") == 2
    assert values(pg) == ["a", "b"]


def test_a_savepoint_costs_no_round_trip_of_its_own(pg: Database, tmp_path: Path) -> None:
    """Its SAVEPOINT and RELEASE travel with other statements; a block that sent nothing needs
    no savepoint at all, and one that raises before sending anything just drops its writes."""

    def refused_before_sending(conn: Connection) -> None:
        with raw.savepoint(conn):
            raw.later(conn, INSERT, ("dropped",))
            raise Refused

    def work(conn: Connection) -> None:
        raw.one(conn, COUNT)
        with raw.savepoint(conn):
            raw.later(conn, INSERT, ("kept",))
        with pytest.raises(Refused):
            refused_before_sending(conn)
        with raw.savepoint(conn):
            raw.one(conn, COUNT)
            raw.later(conn, INSERT, ("released",))

    trace = tmp_path / "trace"
    # BEGIN + SELECT; kept + SAVEPOINT + SELECT; released + RELEASE + COMMIT
    assert round_trips(pg, work, trace) == 3
    sent = "".join(line for line in trace.read_text().splitlines() if line.startswith("F"))
    assert sent.count("SAVEPOINT") == 2  # the third block's SAVEPOINT and RELEASE
    assert values(pg) == ["kept", "released"]


def test_a_valid_verification_takes_two_round_trips(templates: Templates, tmp_path: Path) -> None:
    """BEGIN + the user, lockout counter, live codes and device seeds; the time-step
    compare-and-set (held back as an assertion), the audit record + COMMIT."""
    clock = FrozenClock(START)
    with templates.copy("postgresql", tmp_path) as url:
        rt = make_runtime(make_settings(url, tmp_path), clock)
        try:
            app, _key = new_app(rt)
            authy_id, device_id, token = user_with_device(rt, app)

            def check(conn: Connection) -> None:
                tx = Tx(conn, rt, clock.now())
                assert verify.verify(tx, app, token, authy_id).device["id"] == device_id

            assert round_trips(rt.db, check, tmp_path / "trace") == 2
        finally:
            rt.db.dispose()


def test_a_device_answer_takes_three_round_trips(templates: Templates, tmp_path: Path) -> None:
    """BEGIN + the device and whether it used the nonce; the nonce (held back as an assertion),
    the device's last contact, SAVEPOINT and the request read for update; the decision, the
    callback job, the event, NOTIFY, the audit record, RELEASE + COMMIT."""
    clock = FrozenClock(START)
    with templates.copy("postgresql", tmp_path) as url:
        rt = make_runtime(make_settings(url, tmp_path), clock)
        try:
            client = TestClient(create_app(rt), raise_server_exceptions=False)
            _app, key = new_app(rt)
            authy_id = register(client, key)
            device = enroll_by_phone(client, rt, clock)
            uuid = new_request(client, key, authy_id)["uuid"]
            [shown] = pending(device)
            signed_at = int(clock.time())
            signature = device.key.sign(
                statement(uuid, "approved", signed_at, shown_digest(shown["shown"]))
            )
            body = json.dumps(
                {"status": "approved", "signed_at": signed_at, "signature": signature}
            )
            target = f"/device/v1/approval_requests/{uuid}"
            sent = device.headers("POST", target, body.encode())
            request = SignedRequest(
                "POST",
                target,
                body.encode(),
                sent["X-TwoStep-Device"],
                sent["X-TwoStep-Timestamp"],
                sent["X-TwoStep-Nonce"],
                sent["X-TwoStep-Signature"],
            )

            def answer(conn: Connection) -> None:
                tx = Tx(conn, rt, clock.now())
                decided = device_auth.run_signed(
                    tx,
                    request,
                    lambda d: approvals.answer(
                        tx,
                        d,
                        uuid,
                        status="approved",
                        signed_at=signed_at,
                        number=None,
                        signature=crypto.from_b64url(signature),
                    ),
                )
                assert decided.status == "approved"

            assert round_trips(rt.db, answer, tmp_path / "trace") == 3
        finally:
            rt.db.dispose()


def test_with_batching_off_every_statement_is_a_round_trip_and_nothing_is_prepared(
    templates: Templates, tmp_path: Path
) -> None:
    """``postgres_batching = false``, for a transaction-mode pooler: no SQL-level PREPARE, which
    such a pooler cannot carry, and the statements one at a time as before."""
    with templates.copy("postgresql", tmp_path) as url:
        db = Database(url, threads=1, batching=False)
        try:
            db.run(lambda c: c.execute(text("CREATE TABLE batch_probe (v TEXT NOT NULL)")))

            def work(conn: Connection) -> None:
                raw.one(conn, COUNT)
                raw.later(conn, INSERT, ("a",))
                raw.later(conn, INSERT, ("b",))

            trace = tmp_path / "trace"
            assert round_trips(db, work, trace) == 5  # BEGIN, SELECT, INSERT, INSERT, COMMIT
            assert "PREPARE" not in trace.read_text()
            assert values(db) == ["a", "b"]
        finally:
            db.dispose()


def test_a_unit_that_sent_nothing_costs_no_round_trip(pg: Database, tmp_path: Path) -> None:
    assert round_trips(pg, lambda conn: None, tmp_path / "trace") == 0


def test_statements_stay_prepared_across_rollbacks(pg: Database, tmp_path: Path) -> None:
    """psycopg deallocates its own prepared statements after a rollback; ours must survive it, or
    the next EXECUTE would fail."""
    unit(pg, lambda conn: raw.run(conn, INSERT, ("first",)))
    with pytest.raises(Refused):
        unit(pg, lambda conn: (raw.run(conn, INSERT, ("undone",)), _refuse()))
    with pytest.raises(DBAPIError):
        unit(pg, lambda conn: raw.run(conn, INSERT, (None,)))
    unit(pg, lambda conn: raw.run(conn, INSERT, ("again",)))
    assert values(pg) == ["again", "first"]


def test_a_new_connection_prepares_afresh(pg: Database) -> None:
    def backend(conn: Connection) -> int:
        raw.run(conn, INSERT, ("before",))
        return int(raw.one(conn, raw.Sql("SELECT pg_backend_pid() + ?"), (0,))[0])  # type: ignore[index]

    pid = unit(pg, backend)
    admin = Database(pg.url)
    try:
        admin.run(lambda conn: conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}))
    finally:
        admin.dispose()
    with pytest.raises(DBAPIError):  # the dropped connection fails once and is replaced
        unit(pg, lambda conn: raw.run(conn, INSERT, ("lost",)))
    assert unit(pg, backend) != pid
    assert values(pg) == ["before", "before"]


def _refuse() -> None:
    raise Refused
