"""Redis, when configured (``TWOSTEP_REDIS_URL``): sliding-window rate limits shared by every node
(sorted sets, one per bucket and subject, expiring with their window) and the pub/sub channel that
wakes long polls on other nodes."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

import anyio
import redis
import redis.asyncio as aioredis

log = logging.getLogger("twostep.redis")
CHANNEL = "events"


class RedisStore:
    def __init__(self, url: str, prefix: str = "twostep:") -> None:
        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def ping(self) -> None:
        self.client.ping()

    def _key(self, bucket: str, subject: str) -> str:
        return f"{self.prefix}rl:{bucket}:{subject}"

    def hits_since(self, bucket: str, subject: str, since: datetime) -> tuple[int, datetime | None]:
        """How many hits after ``since``, and the oldest of them."""
        key = self._key(bucket, subject)
        pipe = self.client.pipeline()
        pipe.zremrangebyscore(key, "-inf", since.timestamp())
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
        _removed, count, oldest = pipe.execute()
        first = datetime.fromtimestamp(oldest[0][1], UTC) if oldest else None
        return int(count), first

    def hit(self, bucket: str, subject: str, at: datetime, window_seconds: int) -> None:
        key = self._key(bucket, subject)
        pipe = self.client.pipeline()
        pipe.zadd(key, {f"{at.timestamp()}:{secrets.token_hex(4)}": at.timestamp()})
        pipe.expire(key, window_seconds + 60)
        pipe.execute()

    def clear(self, bucket: str, subject: str) -> None:
        self.client.delete(self._key(bucket, subject))

    def publish(self, topic: str) -> None:
        try:
            self.client.publish(self.prefix + CHANNEL, topic)
        except redis.RedisError:
            # Waiters re-check the database every second or two: a lost wake-up only delays them.
            log.warning("could not publish %s to Redis", topic)

    async def listen(self, on_topic: Callable[[str], None]) -> None:
        """Deliver every published topic to ``on_topic`` until cancelled; reconnects."""
        while True:
            try:
                client = aioredis.Redis.from_url(self.url)
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.prefix + CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            data = message["data"]
                            on_topic(data.decode() if isinstance(data, bytes) else str(data))
            except redis.RedisError:
                log.warning("lost the Redis subscription; reconnecting")
                await anyio.sleep(1.0)
            finally:
                await client.aclose()

    def close(self) -> None:
        self.client.close()
