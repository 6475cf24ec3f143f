"""The worker loop: periodic maintenance (purging deleted users). Runs as ``twostep worker`` or inside
``twostep serve`` in embedded mode."""

from __future__ import annotations

import logging

import anyio
import anyio.to_thread

from twostep.services import users
from twostep.services.runtime import Runtime

log = logging.getLogger("twostep.worker")

MAINTENANCE_INTERVAL = 30.0


def maintenance(rt: Runtime) -> int:
    return rt.run(users.purge_due)


async def run_forever(rt: Runtime) -> None:
    while True:
        try:
            purged = await anyio.to_thread.run_sync(maintenance, rt)
            if purged:
                log.info("purged %d deleted user registration(s)", purged)
        except Exception:
            log.exception("maintenance failed; retrying later")
        await anyio.sleep(MAINTENANCE_INTERVAL)
