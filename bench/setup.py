"""A seeded database for a benchmark run, the environment its server processes share, and the
load generator's entry point."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg
import uvloop

from bench import loadgen, seed
from twostep.config import Settings
from twostep.core import crypto
from twostep.services.bootstrap import build_runtime
from twostep.services.runtime import Runtime

PG_ADMIN = os.environ.get("TWOSTEP_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def fresh_database(kind: str, workdir: Path, name: str = "twostep_bench") -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / (name + '.db')}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drive(port: int, payloads: list[bytes], concurrency: int, seconds: float) -> loadgen.Result:
    return uvloop.run(
        loadgen.run(
            "127.0.0.1", port, payloads, concurrency=concurrency, seconds=seconds, warmup=1.0
        )
    )


class Setup:
    """A seeded database and the environment its server processes run with."""

    def __init__(self, kind: str, workdir: Path, users: int, name: str = "twostep_bench") -> None:
        self.kind, self.workdir, self.users = kind, workdir, users
        self.url = fresh_database(kind, workdir, name)
        master = crypto.format_master_key(crypto.new_key())
        self.env = {
            "TWOSTEP_DATABASE_URL": self.url,
            "TWOSTEP_MASTER_KEY": master,
            "TWOSTEP_DATA_DIR": str(workdir),
            "TWOSTEP_VERIFY_FAIL_LIMIT": "1000",
            "TWOSTEP_SEND_LIMIT": "1000",
            "TWOSTEP_RUN_WORKER": "false",
            "TWOSTEP_CALLBACK_ALLOW_HTTP": "true",
            "TWOSTEP_CALLBACK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
        }
        settings = Settings(database_url=self.url, master_key=master, data_dir=workdir)  # type: ignore[arg-type]
        self.rt: Runtime = build_runtime(settings)
        started = time.monotonic()
        self.seeded = seed.seed(self.rt, users)
        print(f"[{kind}] seeded {users} users in {time.monotonic() - started:.1f}s", flush=True)

    def close(self) -> None:
        self.rt.db.dispose()
