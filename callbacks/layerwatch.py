"""Scaled mode: each web process watches the channel layer's Redis, and closes its sockets when Redis goes away
or comes back as a new server.

Why: a socket whose consumer waits on channels-redis does not notice Redis stopping (redis-py reconnects under
it), and a restarted Redis starts empty, without the groups the sockets joined. Such a page would stay open and
deaf. So one task per process asks Redis who it is (`INFO server`'s run_id) every `INTERVAL` seconds; when Redis
does not answer, or answers with another run_id, every socket of the process is closed with 1013 ("try again
later"). Pages reconnect with their back-off, join their groups again and render in full (the "changed since"
marks were lost with Redis, which means "render"). While Redis is down, a connect fails and is retried.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

INTERVAL = 2.0


class LayerWatch:
    def __init__(self):
        self.sockets: weakref.WeakSet = weakref.WeakSet()
        self.task: asyncio.Task | None = None
        self.server_id: str | None = None  # the run_id of the Redis the sockets joined their groups on

    def add(self, consumer) -> None:
        """Watch on behalf of this consumer (it must have a `close_for_outage()` coroutine)."""
        if not settings.REDIS_URL:
            return
        self.sockets.add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    def discard(self, consumer) -> None:
        self.sockets.discard(consumer)

    async def run(self) -> None:
        client = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=INTERVAL, socket_connect_timeout=INTERVAL)
        try:
            while self.sockets:
                await self.check(client)
                await asyncio.sleep(INTERVAL)
        finally:
            await client.aclose()

    async def check(self, client) -> None:
        try:
            server_id = (await client.info("server"))["run_id"]
        except (RedisError, OSError) as exc:
            await self.close_all(f"Redis does not answer ({type(exc).__name__})")
            self.server_id = None
            return
        if self.server_id is not None and server_id != self.server_id:
            await self.close_all("Redis restarted (its groups are gone)")
        self.server_id = server_id

    async def close_all(self, why: str) -> None:
        sockets = list(self.sockets)
        if not sockets:
            return
        log.warning("%s: closing %d socket(s) of this process; their pages reconnect", why, len(sockets))
        self.sockets = weakref.WeakSet()
        await asyncio.gather(*(s.close_for_outage() for s in sockets), return_exceptions=True)


watch = LayerWatch()
