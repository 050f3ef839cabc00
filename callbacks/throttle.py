"""Throttles for the public edges (both APIs, the customer's page), counted in Django's cache: Redis in scaled
mode, so every web process shares one count; memory in the embedded default.

A fixed window per scope and identity, counted with the cache's atomic add and increment (no read-then-write
race, no table to grow). A refusal says when the window ends, for the `Retry-After` header.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

DAY = 86400


def hit(scope: str, ident: str, *, limit: int, window: int) -> int | None:
    """Count one request of `ident` in `scope`. None when allowed; otherwise the seconds until the window ends."""
    if limit <= 0:
        return None
    now = time.time()
    bucket = int(now // window)
    key = _key(scope, ident, bucket)
    if cache.add(key, 1, window + 60):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: this request opens the window again
            cache.add(key, 1, window + 60)
            count = 1
    if count > limit:
        return max(1, int((bucket + 1) * window - now) + 1)
    return None


def _key(scope: str, ident: str, bucket: int) -> str:
    namespace = getattr(settings, "RINGBACK_THROTTLE_NAMESPACE", "")
    return f"rb:throttle:{namespace}:{scope}:{hashlib.sha256(ident.encode()).hexdigest()[:32]}:{bucket}"


# Wrong API tokens: an address that sends this many in BAD_TOKEN_WINDOW seconds is refused (429) whatever it sends
# next, until the window ends; guessing a 43-character token is hopeless anyway, this keeps it from being tried.
BAD_TOKEN_WINDOW = 600


def bad_token_wait(address: str) -> int | None:
    """Seconds an address must wait before its tokens are looked at again, or None."""
    limit = settings.RINGBACK_BAD_TOKEN_LIMIT
    if limit <= 0:
        return None
    now = time.time()
    bucket = int(now // BAD_TOKEN_WINDOW)
    if (cache.get(_key("badtoken", address, bucket)) or 0) >= limit:
        return max(1, int((bucket + 1) * BAD_TOKEN_WINDOW - now) + 1)
    return None


def bad_token(address: str) -> None:
    """Count a wrong token from this address."""
    hit("badtoken", address, limit=1 << 30, window=BAD_TOKEN_WINDOW)
