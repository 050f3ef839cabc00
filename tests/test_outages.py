"""The pieces that keep Ringback up when Redis or the database goes away, on their own: the forgiving cache, the
process's watch on the channel layer's Redis, and the 503 for a database error outside a view. The whole faults,
with real processes, are in test_faults.py (scaled mode)."""

import asyncio

import pytest
from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from bench.common import free_port
from callbacks import cache as forgiving
from callbacks.layerwatch import LayerWatch
from callbacks.metrics import CACHE_FAILURES

from .factories import make_agent, make_queue


@pytest.fixture
def dead_redis_cache(monkeypatch):
    monkeypatch.setattr(forgiving.ForgivingRedisCache, "down_until", 0.0)
    return forgiving.ForgivingRedisCache(f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": {"socket_connect_timeout": 1}})


def test_a_cache_whose_redis_is_down_misses_and_drops_writes_without_raising(dead_redis_cache):
    failures = CACHE_FAILURES._value.get()
    assert dead_redis_cache.get("k", "fallback") == "fallback"
    assert CACHE_FAILURES._value.get() == failures + 1
    # Known down: the next calls do not even try (one connect timeout per second per process, not per call).
    assert dead_redis_cache.set("k", 1) is None
    assert dead_redis_cache.add("k", 1) is False
    assert dead_redis_cache.get_many(["a", "b"]) == {}
    assert dead_redis_cache.incr("k") == 1
    assert CACHE_FAILURES._value.get() == failures + 1
    forgiving.ForgivingRedisCache.down_until = 0.0
    assert dead_redis_cache.has_key("k") is False
    assert CACHE_FAILURES._value.get() == failures + 2


class FakeRedis:
    def __init__(self):
        self.run_id, self.down = "first", False

    async def info(self, section):
        if self.down:
            raise RedisConnectionError("Connection refused")
        return {"run_id": self.run_id}


class FakeSocket:
    def __init__(self):
        self.closed = 0

    async def close_for_outage(self):
        self.closed += 1


def test_the_watch_closes_sockets_when_redis_goes_away_or_comes_back_as_another_server(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    watch, redis = LayerWatch(), FakeRedis()
    sockets = [FakeSocket(), FakeSocket()]

    async def scenario():
        for s in sockets:
            watch.sockets.add(s)
        await watch.check(redis)  # first sight: learns who Redis is
        await watch.check(redis)  # the same server: nothing to do
        assert [s.closed for s in sockets] == [0, 0]
        redis.run_id = "second"  # restarted (empty) while the sockets' receive loops reconnected silently
        await watch.check(redis)
        assert [s.closed for s in sockets] == [1, 1]
        assert len(watch.sockets) == 0  # the pages' new sockets register again
        fresh = FakeSocket()
        watch.sockets.add(fresh)
        await watch.check(redis)
        assert fresh.closed == 0, "a socket that joined on the new server stays"
        redis.down = True
        await watch.check(redis)
        assert fresh.closed == 1
        redis.down, redis.run_id = False, "third"
        back = FakeSocket()
        watch.sockets.add(back)  # joined once Redis was back: no server id was known, none to compare
        await watch.check(redis)
        assert back.closed == 0

    asyncio.run(scenario())


def test_a_database_error_outside_a_view_is_a_503_with_retry_after(db, client, monkeypatch):
    agent = make_agent("alice", make_queue("sales"))
    client.force_login(agent.user)

    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    # The session's user is loaded by a middleware-time access, before any view runs.
    monkeypatch.setattr("callbacks.middleware.AccessLogMiddleware.process_request", lambda self, request: unreachable())
    client.raise_request_exception = False
    page = client.get("/")
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert b"cannot reach its database" in page.content
    click = client.post("/status/", {"channel": "voice", "status": "ready"}, headers={"HX-Request": "true"})
    assert click.status_code == 503 and click.json()["code"] == "unavailable"
