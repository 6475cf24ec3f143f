"""`python -m bench` (`make bench`): seed a fresh database, start TwoStep and the minimal baseline
pinned to one core, drive them from the other core, print a table, write bench/results.json.

Options: --quick (fewer users, shorter runs), --databases sqlite,postgresql, --users N,
--seconds S, --concurrency 16,64, --no-scale-check (skip the 10x user-table comparison)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import delete, select

from bench import latency, loadgen, scenarios, seed, servers
from bench.setup import Setup, drive
from twostep.services import apps
from twostep.store.schema import approval_requests, outbox

RESULTS = Path(__file__).parent / "results.json"
RATE_CEILING = 20_000  # generous requests/s bound, to size each run's list of requests


def run_database(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    setup = Setup(kind, workdir, args.users)
    rt, key = setup.rt, setup.seeded.api_key
    out: dict[str, Any] = {"database": kind, "users": args.users, "runs": {}}
    users = scenarios.Users(args.users)
    # Enough requests for a run at up to RATE_CEILING (what runs out early is measured up to when
    # it ran out): with group commit TwoStep's verify answers ~8,000 req/s and the baseline
    # ~16,000 on a fast machine, more than half, or all, of 100,000 users in 9 s. Users hands a
    # user out again in a later time-step, so a token is never a replay.
    per_run = int(RATE_CEILING * (args.seconds + 1))
    base_run = per_run
    twostep = servers.twostep(setup.env, workdir / f"twostep-{kind}.log", "--no-worker")
    baseline = servers.baseline(setup.env, workdir / f"baseline-{kind}.log", setup.url)

    def record(
        name: str,
        server: servers.Server,
        payloads: list[bytes],
        concurrency: int,
        *,
        store: bool = True,
    ) -> loadgen.Result:
        result = drive(server.port, payloads, concurrency, args.seconds)
        if store:
            out["runs"][f"{name}@{concurrency}"] = result.summary()
        print(
            f"[{kind}] {name:<18} c={concurrency:<3} {result.rate:8.0f} req/s  "
            f"p50 {result.percentile(50):6.2f} ms  p99 {result.percentile(99):6.2f} ms  "
            f"{dict(result.statuses)}",
            flush=True,
        )
        return result

    try:
        for c in args.concurrency:
            # The baseline runs before and after TwoStep's scenarios and the ratios are taken
            # against both together, so that the machine's drift over the minutes in between
            # (±30% on some machines) falls on both sides of the comparison.
            base_key = f"baseline verify@{c}"
            out["runs"][base_key] = {}  # first in the table; filled in below

            def run_baseline(when: str, concurrency: int = c) -> loadgen.Result:
                payloads = scenarios.verify_valid_run(key, users, base_run, prefix="")
                return record(f"baseline ({when})", baseline, payloads, concurrency, store=False)

            before = run_baseline("before")
            valid = scenarios.verify_valid_run(key, users, per_run)
            done = record("verify valid", twostep, valid, c)
            record("verify replayed", twostep, valid[: max(1, sum(done.statuses.values()))] * 3, c)
            record("verify invalid", twostep, scenarios.verify_invalid(key, users.take(per_run)), c)
            record("O1 create", twostep, scenarios.approval_create(key, users.take(per_run)), c)
            uuids = rt.run(
                lambda tx: list(
                    tx.conn.execute(select(approval_requests.c.uuid).limit(per_run)).scalars()
                ),
                write=False,
            )
            record("O2 status", twostep, scenarios.approval_status(key, uuids * 3), c)
            record("T1 sms", twostep, scenarios.request_sms(key, users.take(per_run)), c)
            answers = seed.pending_answers(rt, per_run)
            record("device answer", twostep, scenarios.device_answers(answers, seed.DEVICE_KEY), c)
            after = run_baseline("after")
            out["runs"][base_key] = {
                **before.combined(after).summary(),
                "rps_before": round(before.rate, 1),
                "rps_after": round(after.rate, 1),
            }
        out["server_rss_bytes"] = twostep.rss_bytes()
        out["database_bytes_per_user"] = round(seed.database_bytes(rt) / args.users)
        baseline.stop()
        out["onetouch_end_to_end"] = end_to_end(setup, twostep, workdir, per_run)
    finally:
        twostep.stop()
        baseline.stop()
        setup.close()
    add_ratios(out, args.concurrency)
    return out


def end_to_end(setup: Setup, twostep: servers.Server, workdir: Path, limit: int) -> dict[str, Any]:
    """Device answer → customer callback, through the outbox and a worker (SQLite: the API's own;
    PostgreSQL: a `twostep worker` process), with an empty queue:
    the earlier runs left their SMS and push jobs queued (tens of thousands), and a worker busy
    draining them would measure that backlog, not the latency of one approval."""
    backlog = setup.rt.run(
        lambda tx: tx.conn.execute(delete(outbox).where(outbox.c.status == "pending")).rowcount
    )
    print(f"[{setup.kind}] dropped {backlog} queued jobs left by the load runs", flush=True)
    receiver = latency.Receiver()
    app = setup.rt.run(lambda tx: apps.authenticate(tx, setup.seeded.api_key))
    setup.rt.run(lambda tx: apps.update_settings(tx, app, {"onetouch_callback_url": receiver.url}))
    if setup.kind == "sqlite":  # SQLite's deployment: one process, its worker inside, woken at once
        api = servers.twostep(
            {**setup.env, "TWOSTEP_RUN_WORKER": "true"}, workdir / "twostep-e2e.log"
        )
        worker = api
    else:  # PostgreSQL's: API nodes and separate workers, woken through NOTIFY
        api = twostep
        worker = servers.Server(
            [sys.executable, "-m", "twostep", "worker"],
            setup.env,
            workdir / f"worker-{setup.kind}.log",
            ready_path=None,
        )
    try:
        time.sleep(3)  # the API caches the application for a second; the worker starts
        pending = seed.pending_answers(setup.rt, min(limit, 300))
        result = uvloop.run(
            latency.measure(f"http://127.0.0.1:{api.port}", pending, seed.DEVICE_KEY, receiver)
        )
    finally:
        worker.stop()
        receiver.close()
    summary = {
        "answers": len(pending),
        "callbacks": result.requests,
        "p50_ms": round(result.percentile(50), 2),
        "p99_ms": round(result.percentile(99), 2),
    }
    print(
        f"[{setup.kind}] OneTouch answer -> callback: p50 {summary['p50_ms']} ms, "
        f"p99 {summary['p99_ms']} ms ({result.requests}/{len(pending)} callbacks)",
        flush=True,
    )
    return summary


SCALE_ROUNDS = 3


def scale_check(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Verify throughput with a ten times larger user table against the main run's size, both
    freshly seeded (the main run's database has grown with every load run by then), their
    servers measured in turns (small, large, small, ...) so that the machine's drift over
    minutes (±15% here) falls on both alike."""
    tables = [
        Setup(kind, workdir, args.users, name="twostep_bench_small"),
        Setup(kind, workdir, args.users * 10, name="twostep_bench_big"),
    ]
    started: list[servers.Server] = []
    per_run = int(RATE_CEILING * (args.seconds + 1))
    totals = [[0, 0.0], [0, 0.0]]
    try:
        for i, table in enumerate(tables):
            log = workdir / f"twostep-{kind}-scale-{i}.log"
            started.append(servers.twostep(table.env, log, "--no-worker"))
        users = [scenarios.Users(table.users) for table in tables]
        for _ in range(SCALE_ROUNDS):
            for i, table in enumerate(tables):
                payloads = scenarios.verify_valid_run(table.seeded.api_key, users[i], per_run)
                result = drive(started[i].port, payloads, 16, args.seconds)
                totals[i][0] += result.requests
                totals[i][1] += result.seconds
    finally:
        for server in started:
            server.stop()
        for table in tables:
            table.close()
    big = tables[1]
    small_rps, big_rps = (n / t if t else 0.0 for n, t in totals)
    check = {
        "users": big.users,
        "rounds": SCALE_ROUNDS,
        "rps": round(big_rps, 1),
        "small_rps": round(small_rps, 1),
        "relative_to_small": round(big_rps / small_rps, 3) if small_rps else None,
    }
    print(
        f"[{kind}] verify valid with {big.users} users: {big_rps:.0f} req/s against "
        f"{small_rps:.0f} with {args.users} ({check['relative_to_small']}), in turns",
        flush=True,
    )
    return check


def add_ratios(out: dict[str, Any], concurrencies: list[int]) -> None:
    for c in concurrencies:
        base = out["runs"][f"baseline verify@{c}"]["rps"]
        for name, run in out["runs"].items():
            if name.endswith(f"@{c}") and base:
                run["ratio_to_baseline"] = round(run["rps"] / base, 3)


def report(results: list[dict[str, Any]]) -> None:
    print()
    print(
        f"{'database':<10} {'scenario':<24} {'req/s':>9} {'ratio':>7} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'p99.9 ms':>9}"
    )
    for db in results:
        for name, run in db["runs"].items():
            print(
                f"{db['database']:<10} {name:<24} {run['rps']:>9.0f} "
                f"{run.get('ratio_to_baseline', 0):>7.2f} {run['p50_ms']:>8.2f} "
                f"{run['p99_ms']:>8.2f} {run['p999_ms']:>9.2f}"
            )
        for c in sorted({int(name.rsplit("@", 1)[1]) for name in db["runs"]}):
            base = db["runs"][f"baseline verify@{c}"]
            print(
                f"{db['database']:<10} baseline at c={c}: {base['rps_before']:.0f} req/s before "
                f"TwoStep's runs, {base['rps_after']:.0f} after"
            )
        e2e = db["onetouch_end_to_end"]
        print(
            f"{db['database']:<10} server RSS {db['server_rss_bytes'] / 2**20:.0f} MiB, "
            f"{db['database_bytes_per_user']} database bytes per user; OneTouch answer -> "
            f"callback p50 {e2e['p50_ms']} ms, p99 {e2e['p99_ms']} ms"
        )
        if "scale_check" in db:
            check = db["scale_check"]
            print(
                f"{db['database']:<10} {check['users']} users: verify "
                f"{check['relative_to_small']} of the smaller table's throughput"
            )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--concurrency", default="16,64")
    parser.add_argument("--no-scale-check", action="store_true")
    args = parser.parse_args()
    args.users = args.users or (20_000 if args.quick else 100_000)
    args.seconds = args.seconds or (3.0 if args.quick else 8.0)
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.scale_check = not args.quick and not args.no_scale_check
    servers.pin_client()
    results = []
    for kind in args.databases.split(","):
        workdir = Path(tempfile.mkdtemp(prefix=f"twostep-bench-{kind}-"))
        try:
            result = run_database(kind, args, workdir)
            if args.scale_check:
                result["scale_check"] = scale_check(kind, args, workdir)
            results.append(result)
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
