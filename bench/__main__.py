"""`python -m bench` (`make bench`): seed a fresh database, start TwoStep and the minimal baseline
pinned to one core, drive them from the other core, print a table, write bench/results.json.

Options: --quick (fewer users, shorter runs), --databases sqlite,postgresql, --users N,
--seconds S, --concurrency 16,64."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import uvloop
from sqlalchemy import select

from bench import loadgen, scenarios, seed, servers
from twostep.config import Settings
from twostep.core import crypto
from twostep.services.bootstrap import build_runtime
from twostep.store.schema import approval_requests

PG_ADMIN = os.environ.get("TWOSTEP_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RESULTS = Path(__file__).parent / "results.json"


def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    name = "twostep_bench"
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


def run_database(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = fresh_database(kind, workdir)
    master = crypto.format_master_key(crypto.new_key())
    env = {
        "TWOSTEP_DATABASE_URL": url,
        "TWOSTEP_MASTER_KEY": master,
        "TWOSTEP_DATA_DIR": str(workdir),
        "TWOSTEP_VERIFY_FAIL_LIMIT": "1000",
        "TWOSTEP_SEND_LIMIT": "1000",
        "TWOSTEP_RUN_WORKER": "false",
    }
    settings = Settings(database_url=url, master_key=master, data_dir=workdir)  # type: ignore[arg-type]
    rt = build_runtime(settings)
    started = time.monotonic()
    seeded = seed.seed(rt, args.users)
    print(f"[{kind}] seeded {args.users} users in {time.monotonic() - started:.1f}s", flush=True)
    out: dict[str, Any] = {"database": kind, "users": args.users, "runs": {}}
    users = scenarios.Users(args.users)
    rate = 20_000  # generous upper bound on requests/s, to size each run's payload list
    per_run = min(args.users // 2, int(rate * (args.seconds + 1)))
    twostep = servers.twostep(env, workdir / f"twostep-{kind}.log")
    baseline = servers.baseline(env, workdir / f"baseline-{kind}.log", url)
    try:
        for concurrency in args.concurrency:

            def record(
                name: str,
                server: servers.Server,
                payloads: list[bytes],
                concurrency: int = concurrency,
            ) -> loadgen.Result:
                result = drive(server.port, payloads, concurrency, args.seconds)
                out["runs"][f"{name}@{concurrency}"] = result.summary()
                print(
                    f"[{kind}] {name:<22} c={concurrency:<3} {result.rate:8.0f} req/s  "
                    f"p50 {result.percentile(50):6.2f} ms  p99 {result.percentile(99):6.2f} ms"
                    f"  {dict(result.statuses)}",
                    flush=True,
                )
                return result

            record(
                "baseline verify",
                baseline,
                scenarios.verify_valid(seeded.api_key, users.take(per_run), prefix=""),
            )
            valid_users = users.take(per_run)
            valid = scenarios.verify_valid(seeded.api_key, valid_users)
            done = record("verify valid", twostep, valid)
            record("verify replayed", twostep, valid[: max(1, sum(done.statuses.values()))] * 3)
            record(
                "verify invalid",
                twostep,
                scenarios.verify_invalid(seeded.api_key, users.take(per_run)),
            )
            record(
                "O1 create", twostep, scenarios.approval_create(seeded.api_key, users.take(per_run))
            )
            uuids = rt.run(
                lambda tx: list(
                    tx.conn.execute(select(approval_requests.c.uuid).limit(per_run)).scalars()
                ),
                write=False,
            )
            record("O2 status", twostep, scenarios.approval_status(seeded.api_key, uuids * 3))
            record("T1 sms", twostep, scenarios.request_sms(seeded.api_key, users.take(per_run)))
        out["server_rss_bytes"] = twostep.rss_bytes()
        out["database_bytes_per_user"] = round(seed.database_bytes(rt) / args.users)
    finally:
        twostep.stop()
        baseline.stop()
        rt.db.dispose()
    for concurrency in args.concurrency:
        base = out["runs"][f"baseline verify@{concurrency}"]["rps"]
        for name, run in out["runs"].items():
            if name.endswith(f"@{concurrency}") and base:
                run["ratio_to_baseline"] = round(run["rps"] / base, 3)
    return out


def report(results: list[dict[str, Any]]) -> None:
    print()
    print(
        f"{'database':<10} {'scenario':<28} {'req/s':>9} {'ratio':>7} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'p99.9 ms':>9}"
    )
    for db in results:
        for name, run in db["runs"].items():
            print(
                f"{db['database']:<10} {name:<28} {run['rps']:>9.0f} "
                f"{run.get('ratio_to_baseline', 0):>7.2f} {run['p50_ms']:>8.2f} "
                f"{run['p99_ms']:>8.2f} {run['p999_ms']:>9.2f}"
            )
        print(
            f"{db['database']:<10} server RSS {db['server_rss_bytes'] / 2**20:.0f} MiB, "
            f"{db['database_bytes_per_user']} database bytes per user"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--concurrency", default="16,64")
    args = parser.parse_args()
    args.users = args.users or (20_000 if args.quick else 100_000)
    args.seconds = args.seconds or (3.0 if args.quick else 8.0)
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    servers.pin_client()
    results = []
    for kind in args.databases.split(","):
        workdir = Path(tempfile.mkdtemp(prefix=f"twostep-bench-{kind}-"))
        try:
            results.append(run_database(kind, args, workdir))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    RESULTS.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "options": {
                    "users": args.users,
                    "seconds": args.seconds,
                    "concurrency": args.concurrency,
                },
                "results": results,
            },
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
