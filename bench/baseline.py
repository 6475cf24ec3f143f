"""The minimal hand-written verify endpoint the benchmark compares TwoStep with: a raw ASGI
function doing only the work verification cannot avoid — find the application by its API key
hash, load the person's device seed, open it (AES-GCM), check the 7-digit/10 s TOTP window with
HMAC, record the accepted time-step (replay guard) — with synchronous driver calls straight on the
event loop and no framework. Run: python -m bench.baseline --port P (database from TWOSTEP_*)."""

from __future__ import annotations

import argparse
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


def build(url: str) -> Any:
    settings = load_settings(database_url=url)
    keyring = load_keyring(Database(settings.resolved_database_url), master_key(settings))
    if url.startswith("sqlite"):
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        mark = "?"
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
        mark = "%s"
    app_sql, seed_sql, step_sql = (s.format(p=mark) for s in (APP_SQL, SEED_SQL, STEP_SQL))

    def verify(api_key: bytes, token: str, person: int) -> bool:
        row = conn.execute(app_sql, (hashlib.sha256(api_key).digest(),)).fetchone()
        if row is None:
            return False
        app_id = row[0]
        for seed_id, sealed, _last, device_id in conn.execute(
            seed_sql, (person, app_id)
        ).fetchall():
            key = keyring.open(sealed, f"device_seeds:{device_id}:{app_id}")
            step = otp.match_totp(key, token, time.time(), PARAMS)
            if step is not None:
                return conn.execute(step_sql, (step, seed_id, step)).rowcount == 1
        return False

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        parts = scope["path"].split("/")  # /verify/{token}/{authy_id}
        api_key = next((v for k, v in scope["headers"] if k == b"x-authy-api-key"), b"")
        ok = len(parts) == 4 and parts[3].isdigit() and verify(api_key, parts[2], int(parts[3]))
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
