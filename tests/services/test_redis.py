"""With TWOSTEP_REDIS_URL set, rate limits live in Redis (shared by every node) and changes are
announced on a Redis channel. Runs against the machine's Redis (127.0.0.1:6379)."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from httpx import Response
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers, register
from twostep.clock import FrozenClock
from twostep.services.runtime import Runtime
from twostep.store.schema import rate_hits

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # a prefix of its own, so parallel tests never share counters
    return {"redis_url": REDIS_URL, "redis_prefix": f"twostep-test-{secrets.token_hex(6)}:"}


def test_lockout_counts_in_redis(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str
) -> None:
    assert runtime.redis is not None
    user = register(client, app_key)

    def verify(token: int) -> Response:
        return client.get(f"/protected/json/verify/{token}/{user}", headers=headers(app_key))

    for i in range(runtime.settings.verify_fail_limit):
        assert verify(1000000 + i).status_code == 401
    assert_error(verify(1234567), 429, "60003")
    counted = runtime.run(
        lambda tx: tx.conn.execute(select(func.count()).select_from(rate_hits)).scalar_one()
    )
    assert counted == 0  # nothing counted in the database
    clock.advance(runtime.settings.verify_fail_window_seconds + 1)
    assert verify(1234567).status_code == 401


def test_changes_are_announced_through_redis(runtime: Runtime) -> None:
    redis = runtime.redis
    assert redis is not None
    heard: list[str] = []

    async def go() -> None:
        listener = asyncio.create_task(redis.listen(heard.append))
        await asyncio.sleep(0.3)  # subscribed
        await asyncio.to_thread(runtime.run, lambda tx: tx.announce("approval:abc"))
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.02)
        listener.cancel()

    asyncio.run(go())
    assert heard == ["approval:abc"]
