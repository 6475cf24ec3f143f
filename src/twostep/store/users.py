"""Queries on persons (one per phone number, owning the Authy id) and their registrations in
applications."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, delete, exists, insert, select, update

from twostep.store import raw
from twostep.store.codes import SEED_COLUMNS, SeedRow, seed_row
from twostep.store.schema import activities, app_users, persons
from twostep.store.upsert import insert_ignore

Record = Any  # a SQLAlchemy Row: columns by attribute name


def person_id_for(
    conn: Connection,
    *,
    country_code: int,
    national_number: str,
    e164: str,
    region: str | None,
    now: datetime,
) -> int:
    insert_ignore(
        conn,
        persons,
        {
            "country_code": country_code,
            "national_number": national_number,
            "e164": e164,
            "created_at": now,
            "region": region,
        },
        ["e164"],
    )
    return int(conn.execute(select(persons.c.id).where(persons.c.e164 == e164)).scalar_one())


def register_in_app(
    conn: Connection, *, app_id: int, person_id: int, public_id: str, email: str, now: datetime
) -> bool:
    """Add the person to the app, or refresh an existing registration (new email, undeleted).
    True if the person is new to the app."""
    inserted = insert_ignore(
        conn,
        app_users,
        {
            "app_id": app_id,
            "person_id": person_id,
            "public_id": public_id,
            "email": email,
            "confirmed": False,
            "banned": False,
            "created_at": now,
            "updated_at": now,
        },
        ["app_id", "person_id"],
    )
    if not inserted:
        conn.execute(
            update(app_users)
            .where(app_users.c.app_id == app_id, app_users.c.person_id == person_id)
            .values(email=email, updated_at=now, deleted_at=None, purge_after=None)
        )
    return inserted


class UserRow(NamedTuple):
    authy_id: int
    country_code: int
    national_number: str
    e164: str
    app_user_id: int
    app_id: int
    public_id: str
    email: str
    confirmed: bool
    banned: bool
    created_at: datetime
    deleted_at: datetime | None
    region: str | None  # NULL in rows from before migration 0006


_USER_COLUMNS = (  # UserRow's, in order
    "p.id, p.country_code, p.national_number, p.e164, u.id, u.app_id, u.public_id, "
    "u.email, u.confirmed, u.banned, u.created_at, u.deleted_at, p.region"
)
_USER_FROM = (
    " FROM persons p JOIN app_users u ON u.person_id = p.id WHERE u.app_id = ? AND u.person_id = ?"
)
_FIND = f"SELECT {_USER_COLUMNS}{_USER_FROM}"
_FIND_USER = raw.Sql(_FIND)
_FIND_USER_LOCKED = raw.Sql(_FIND + " FOR UPDATE OF u")


def find_user(
    conn: Connection, app_id: int, person_id: int, *, for_update: bool = False
) -> UserRow | None:
    """The registration, optionally row-locked (PostgreSQL) so concurrent verifications of one
    user queue up instead of racing each other's counters. Hot path: raw SQL."""
    locked = for_update and conn.dialect.name == "postgresql"
    row = raw.one(conn, _FIND_USER_LOCKED if locked else _FIND_USER, (app_id, person_id))
    return None if row is None else _user_row(row)


class AppDevice(NamedTuple):
    """An active device of the person holding a (not revoked) seed for the application."""

    id: int
    os_type: str
    push_address: str | None  # sealed


# The registration with the person's active devices that hold a (not revoked) seed for the
# application, newest first: a row per device, one with NULLs for none; optionally with a
# rate-limit counter (store.ratelimit.hits_since's) in the same statement.
def _with_devices(counter: bool) -> raw.Sql:
    return raw.Sql(
        f"SELECT {_USER_COLUMNS}, d.id, d.os_type, d.push_address"  # noqa: S608
        f"{', h.hits, h.oldest ' if counter else ' '}"
        f"FROM {_COUNTER_FIRST if counter else ''}persons p JOIN app_users u ON u.person_id = p.id "
        "LEFT JOIN devices d ON d.person_id = p.id AND d.status = 'active' AND EXISTS ("
        "SELECT 1 FROM device_seeds s WHERE s.device_id = d.id AND s.app_id = u.app_id "
        "AND s.revoked_at IS NULL) "
        "WHERE u.app_id = ? AND u.person_id = ? ORDER BY d.id DESC"
    )


# A rate-limit counter's hits since a time and the oldest of them, in one scan of its index (two
# scalar subqueries scanned it twice: ~20 µs more of PostgreSQL's CPU a query), as a one-row
# table joined first; no registration still means no row.
_COUNTER_FIRST = (
    "(SELECT count(*) AS hits, min(at) AS oldest FROM rate_hits "
    "WHERE bucket = ? AND subject = ? AND at > ?) h CROSS JOIN "
)
_WITH_DEVICES = _with_devices(counter=False)
_WITH_DEVICES_AND_COUNTER = _with_devices(counter=True)


class UserWithDevices(NamedTuple):
    user: UserRow
    devices: list[AppDevice]
    hits: tuple[int, datetime | None] | None  # the counter's hits since, and the oldest of them


def find_user_with_devices(
    conn: Connection,
    app_id: int,
    person_id: int,
    counter: tuple[str, str, datetime] | None = None,
) -> UserWithDevices | None:
    """``find_user`` and the person's devices that serve the application, and with ``counter``
    (bucket, subject, since) its hits since then, in one query."""
    if counter is None:
        rows = raw.many(conn, _WITH_DEVICES, (app_id, person_id))
    else:
        bucket, subject, since = counter
        params = (bucket, subject, raw.ts(conn, since), app_id, person_id)
        rows = raw.many(conn, _WITH_DEVICES_AND_COUNTER, params)
    if not rows:
        return None
    first = rows[0]
    devices = [AppDevice(r[13], r[14], r[15]) for r in rows if r[13] is not None]
    hits = None if counter is None else (int(first[16]), raw.parse_ts(first[17]))
    return UserWithDevices(_user_row(first), devices, hits)


class VerificationContext(NamedTuple):
    user: UserRow
    failures: int  # rate-limit hits in the bucket since the window's start
    oldest_failure: datetime | None
    has_live_codes: bool  # an SMS/voice/email code not yet expired (consumed or not)
    seeds: list[SeedRow]  # as store.codes.device_seeds_for finds them


# What a verification needs before it checks a token, in one statement: the registration (row-
# locked on PostgreSQL), the lockout counter, whether any sent code is outstanding, and the seeds
# of the person's active devices (a row per seed; one with NULLs for none). The seeds are read in
# the statement's snapshot, taken before a concurrent verification holding the row lock commits,
# so their last_step may lag behind: store.codes.advance_device_step allows for that.
_CONTEXT_COLUMNS = (
    f"SELECT {_USER_COLUMNS}, h.hits, h.oldest, "  # noqa: S608 - built from constants only
    "EXISTS (SELECT 1 FROM otp_codes c "
    "WHERE c.app_id = u.app_id AND c.person_id = u.person_id AND c.expires_at > ?), "
    f"{SEED_COLUMNS} "
    f"FROM {_COUNTER_FIRST}persons p JOIN app_users u ON u.person_id = p.id "
    # joined one after the other (a parenthesised join made SQLite scan every seed)
    "LEFT JOIN devices d ON d.person_id = p.id AND d.status = 'active' "
    "LEFT JOIN device_seeds s ON s.device_id = d.id AND s.app_id = u.app_id "
    "AND s.revoked_at IS NULL "
    "WHERE u.app_id = ? AND u.person_id = ?"
)
_CONTEXT = raw.Sql(_CONTEXT_COLUMNS)
_CONTEXT_LOCKED = raw.Sql(_CONTEXT_COLUMNS + " FOR UPDATE OF u")


def verification_context(
    conn: Connection,
    app_id: int,
    person_id: int,
    *,
    bucket: str,
    subject: str,
    since: datetime,
    now: datetime,
) -> VerificationContext | None:
    """``find_user`` (row-locked), the failure counter of ``bucket``/``subject`` since ``since``
    (as store.ratelimit.hits_since counts it) and whether the user has live codes at ``now``."""
    locked = conn.dialect.name == "postgresql"
    # in the order of the placeholders: the EXISTS's in the select list, the counter's in FROM
    params = (raw.ts(conn, now), bucket, subject, raw.ts(conn, since), app_id, person_id)
    rows = raw.many(conn, _CONTEXT_LOCKED if locked else _CONTEXT, params)
    if not rows:
        return None
    row = rows[0]
    seeds = [seed_row(r[16:]) for r in rows if r[16] is not None]  # a device with no seed: NULL
    return VerificationContext(
        _user_row(row), int(row[13]), raw.parse_ts(row[14]), bool(row[15]), seeds
    )


def _user_row(row: tuple[Any, ...]) -> UserRow:
    created = raw.parse_ts(row[10])
    assert created is not None
    return UserRow(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        bool(row[8]),
        bool(row[9]),
        created,
        raw.parse_ts(row[11]),
        row[12],
    )


def mark_deleted(
    conn: Connection, app_user_id: int, *, now: datetime, purge_after: datetime
) -> None:
    conn.execute(
        update(app_users)
        .where(app_users.c.id == app_user_id, app_users.c.deleted_at.is_(None))
        .values(deleted_at=now, purge_after=purge_after, updated_at=now)
    )


def set_email(conn: Connection, app_user_id: int, email: str, now: datetime) -> None:
    conn.execute(
        update(app_users).where(app_users.c.id == app_user_id).values(email=email, updated_at=now)
    )


_CONFIRM = raw.Sql(
    "UPDATE app_users SET confirmed = ?, updated_at = ? WHERE id = ? AND confirmed = ?"
)


def set_confirmed(conn: Connection, app_user_id: int, now: datetime) -> None:
    raw.later(conn, _CONFIRM, (True, raw.ts(conn, now), app_user_id, False))


def set_banned(conn: Connection, app_user_id: int, banned: bool, now: datetime) -> None:
    conn.execute(
        update(app_users).where(app_users.c.id == app_user_id).values(banned=banned, updated_at=now)
    )


def add_activity(
    conn: Connection,
    *,
    app_id: int,
    person_id: int,
    type_: str,
    user_ip: str | None,
    data: dict[str, Any] | None,
    now: datetime,
) -> None:
    conn.execute(
        insert(activities).values(
            app_id=app_id,
            person_id=person_id,
            type=type_,
            user_ip=user_ip,
            data=data,
            created_at=now,
        )
    )


def purge_due(conn: Connection, now: datetime, limit: int = 500) -> list[tuple[int, int]]:
    """Delete registrations whose deletion delay has passed, then persons left with none.
    Returns the (app_id, person_id) pairs removed."""
    due = conn.execute(
        select(app_users.c.id, app_users.c.app_id, app_users.c.person_id)
        .where(app_users.c.purge_after <= now)
        .limit(limit)
    ).all()
    if not due:
        return []
    conn.execute(delete(app_users).where(app_users.c.id.in_([r.id for r in due])))
    orphaned = [r.person_id for r in due]
    conn.execute(
        delete(persons).where(
            persons.c.id.in_(orphaned),
            ~exists().where(and_(app_users.c.person_id == persons.c.id)),
        )
    )
    return [(r.app_id, r.person_id) for r in due]
