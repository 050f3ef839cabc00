"""Django's Redis cache, for which Redis being down is a miss, not a 500.

Nothing Ringback keeps in the cache is the truth: sessions are also in the database (`cached_db`), the
"changed since" marks make a page render in full when missing, the throttles' counts start again, the
clock's heartbeat is what /readyz reports on. So when Redis is stopped, restarting or unreachable, every
read misses and every write is dropped (logged and counted), and the request goes on. After a failure the
cache is not asked again for `RETRY_AFTER` seconds, so an unreachable Redis costs one connect timeout per
process and second, not one per call.
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from .metrics import CACHE_FAILURES

log = logging.getLogger(__name__)

RETRY_AFTER = 1.0


class ForgivingRedisCache(RedisCache):
    down_until = 0.0  # per process: every thread's cache object skips Redis while it is known down

    def _try(self, name: str, fallback, *args):
        if time.monotonic() < ForgivingRedisCache.down_until:
            return fallback
        try:
            return getattr(super(), name)(*args)
        except (RedisError, OSError) as exc:
            ForgivingRedisCache.down_until = time.monotonic() + RETRY_AFTER
            CACHE_FAILURES.inc()
            log.warning("cache %s failed (%s): treated as a miss for %.0f s", name, type(exc).__name__, RETRY_AFTER)
            return fallback

    def get(self, key, default=None, version=None):
        return self._try("get", default, key, default, version)

    def get_many(self, keys, version=None):
        return self._try("get_many", {}, keys, version)

    def has_key(self, key, version=None):
        return self._try("has_key", False, key, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try("add", False, key, value, timeout, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try("set", None, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try("set_many", [], data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._try("touch", False, key, timeout, version)

    def incr(self, key, delta=1, version=None):
        # Down: as if the key had just expired (`throttle.count` then opens a new window); a missing key
        # still raises ValueError, as Django's contract says.
        return self._try("incr", 1, key, delta, version)

    def delete(self, key, version=None):
        return self._try("delete", False, key, version)

    def delete_many(self, keys, version=None):
        return self._try("delete_many", None, keys, version)

    def clear(self):
        return self._try("clear", None)
