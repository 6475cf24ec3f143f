"""`python -m bench.asgi_servers` (`make bench-servers`): the measurement behind `twostep serve`'s
choice of ASGI server. The same TwoStep application, on one seeded SQLite database, is served by
each candidate pinned to one core and driven from the other: GET /healthz (the framework and the
server, no database) and T4 verify with valid device tokens (the hot path). Prints req/s and p99.
Granian is installed by the `bench` extra (`pip install -e '.[bench]'`)."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench import loadgen, scenarios, servers
from bench.setup import Setup, drive

UVICORN = [sys.executable, "-m", "twostep", "serve", "--no-worker"]
GRANIAN = [
    *("granian", "--interface", "asgi", "--loop", "uvloop", "--workers", "1"),
    *("--host", "127.0.0.1", "--no-ws", "--log-level", "warning"),
    *("--factory", "twostep.api.factory:create_from_env"),
]


def candidates() -> dict[str, list[str]]:
    found = {"uvicorn (uvloop, httptools)": UVICORN}
    if shutil.which("granian"):
        found["granian (asgi, uvloop)"] = GRANIAN
    else:
        print("granian is not installed: pip install -e '.[bench]'", file=sys.stderr)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.asgi_servers")
    parser.add_argument("--users", type=int, default=120_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    servers.pin_client()
    workdir = Path(tempfile.mkdtemp(prefix="twostep-bench-servers-"))
    setup = Setup("sqlite", workdir, args.users)
    users = scenarios.Users(args.users)
    # enough requests for the whole run at a rate well above what the server manages
    per_run = min(args.users // 3, int(6_000 * (args.seconds + 1)))
    health = [loadgen.render_get("/healthz", {})] * int(30_000 * (args.seconds + 1))
    try:
        for name, argv in candidates().items():
            log = workdir / f"{name.split()[0]}.log"
            server = servers.Server(argv, setup.env, log, "/healthz")
            try:
                for scenario, concurrency in (
                    ("GET /healthz", 16),
                    ("verify valid", 16),
                    ("verify valid", 64),
                ):
                    payloads = (
                        health
                        if scenario == "GET /healthz"
                        else scenarios.verify_valid(setup.seeded.api_key, users.take(per_run))
                    )
                    result = drive(server.port, payloads, concurrency, args.seconds)
                    print(
                        f"{name:<28} {scenario:<13} c={concurrency:<3} {result.rate:8.0f} req/s"
                        f"  p99 {result.percentile(99):6.2f} ms  {dict(result.statuses)}",
                        flush=True,
                    )
            finally:
                server.stop()
    finally:
        setup.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
