"""The minimal hand-written verify endpoint the benchmark compares TwoStep with: a raw ASGI
function doing only the work verification cannot avoid — find the application by its API key
hash, load the person's device seed, open it (AES-GCM), check the 7-digit/10 s TOTP window with
HMAC, record the accepted time-step (replay guard) — and no framework. On SQLite the driver calls
run straight on the event loop (nothing waits there); on PostgreSQL on psycopg's asyncio
connections, four of them (as TwoStep has four request threads), so that the baseline keeps
several requests' round trips and commits in flight as TwoStep does, instead of waiting for each
in turn. Run: python -m bench.baseline --port P (database from TWOSTEP_*)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sqlite3
import time
from typing import Any

import orjson
import uvicorn

from twostep.config import load_settings
from twostep.core import otp
from twostep.services.bootstrap import master_key
from twostep.services.keys import load_keyring
from twostep.store.db import Database

PARAMS = otp.TotpParams(step=10, digits=7, window=3)
OK = orjson.dumps({"message": "Token is valid.", "token": "is valid", "success": "true"})
BAD = orjson.dumps({"message": "Token is invalid", "success": False, "error_code": "60020"})

APP_SQL = (
    "SELECT a.id FROM api_keys k JOIN applications a ON a.id = k.app_id WHERE k.key_hash = {p}"
)
SEED_SQL = (
    "SELECT s.id, s.seed, s.last_step, s.device_id FROM device_seeds s "
    "JOIN devices d ON d.id = s.device_id WHERE d.person_id = {p} AND s.app_id = {p}"
)
STEP_SQL = "UPDATE device_seeds SET last_step = {p} WHERE id = {p} AND last_step < {p}"


PG_CONNECTIONS = 4


def build(url: str) -> Any:
    settings = load_settings(database_url=url)
    keyring = load_keyring(Database(settings.resolved_database_url), master_key(settings))

    def check(rows: list[Any], app_id: int, token: str) -> tuple[int, int] | None:
        """(seed id, accepted time-step) of the seed the token matches."""
        for seed_id, sealed, _last, device_id in rows:
            key = keyring.open(sealed, f"device_seeds:{device_id}:{app_id}")
            step = otp.match_totp(key, token, time.time(), PARAMS)
            if step is not None:
                return seed_id, step
        return None

    if url.startswith("sqlite"):
        return _serve(_sqlite_verify(url, check))
    return _serve(_postgresql_verify(url, check))


Check = Any  # (rows, app id, token) -> (seed id, step) | None


def _sqlite_verify(url: str, check: Check) -> Any:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    app_sql, seed_sql, step_sql = (s.format(p="?") for s in (APP_SQL, SEED_SQL, STEP_SQL))

    async def verify(api_key: bytes, token: str, person: int) -> bool:
        row = conn.execute(app_sql, (hashlib.sha256(api_key).digest(),)).fetchone()
        if row is None:
            return False
        found = check(conn.execute(seed_sql, (person, row[0])).fetchall(), row[0], token)
        if found is None:
            return False
        return conn.execute(step_sql, (found[1], found[0], found[1])).rowcount == 1

    return verify


def _postgresql_verify(url: str, check: Check) -> Any:
    import psycopg

    plain = url.replace("postgresql+psycopg", "postgresql")
    app_sql, seed_sql, step_sql = (s.format(p="%s") for s in (APP_SQL, SEED_SQL, STEP_SQL))
    idle: asyncio.Queue[Any] = asyncio.Queue()
    opened: list[Any] = []

    async def connection() -> Any:
        if len(opened) < PG_CONNECTIONS and idle.empty():
            opened.append(None)  # reserved before the await, so that at most four are opened
            return await psycopg.AsyncConnection.connect(plain, autocommit=True)
        return await idle.get()

    async def verify(api_key: bytes, token: str, person: int) -> bool:
        conn = await connection()
        try:
            cur = await conn.execute(app_sql, (hashlib.sha256(api_key).digest(),))
            row = await cur.fetchone()
            if row is None:
                return False
            rows = await (await conn.execute(seed_sql, (person, row[0]))).fetchall()
            found = check(rows, row[0], token)
            if found is None:
                return False
            cur = await conn.execute(step_sql, (found[1], found[0], found[1]))
            return bool(cur.rowcount == 1)
        finally:
            idle.put_nowait(conn)

    return verify


def _serve(verify: Any) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        parts = scope["path"].split("/")  # /verify/{token}/{authy_id}
        api_key = next((v for k, v in scope["headers"] if k == b"x-authy-api-key"), b"")
        ok = (
            len(parts) == 4
            and parts[3].isdigit()
            and await verify(api_key, parts[2], int(parts[3]))
        )
        body = OK if ok else BAD
        await send(
            {
                "type": "http.response.start",
                "status": 200 if ok else 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    uvicorn.run(
        build(args.database_url),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )


if __name__ == "__main__":
    main()
