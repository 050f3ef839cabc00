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


def count(scope: str, ident: str, window: int) -> int:
    """Add one to `ident`'s count in `scope` for the current window and return it."""
    key = _key(scope, ident, int(time.time() // window))
    if cache.add(key, 1, window + 60):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this request opens the window again
        cache.add(key, 1, window + 60)
        return 1


def wait_of(window: int) -> int:
    """Seconds until the current window ends."""
    now = time.time()
    return max(1, int((int(now // window) + 1) * window - now) + 1)


def hit(scope: str, ident: str, *, limit: int, window: int) -> int | None:
    """Count one request of `ident` in `scope`. None when allowed; otherwise the seconds until the window ends."""
    if limit <= 0:
        return None
    return wait_of(window) if count(scope, ident, window) > limit else None


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
    seen = cache.get(_key("badtoken", address, int(time.time() // BAD_TOKEN_WINDOW))) or 0
    return wait_of(BAD_TOKEN_WINDOW) if seen >= limit else None


def bad_token(address: str) -> None:
    """Count a wrong token from this address."""
    count("badtoken", address, BAD_TOKEN_WINDOW)
