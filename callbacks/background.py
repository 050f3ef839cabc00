"""Work after a commit that the HTTP answer need not wait for (routing): on the server's thread pool while
serving, so the intake API and a click answer at once while routing catches up; at once elsewhere (the
dispatcher, the task worker, tests)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

from django.db import close_old_connections

from .push import doorbell

log = logging.getLogger(__name__)


def after_answer(fn: Callable[..., object], *args: object) -> None:
    loop = doorbell.loop
    if loop is not None and loop.is_running():
        try:
            loop.call_soon_threadsafe(loop.run_in_executor, None, _run, fn, args)
            return
        except Exception:  # the loop is shutting down: do it here instead
            log.warning("background work could not be scheduled; running it inline", exc_info=True)
    fn(*args)


def _run(fn: Callable[..., object], args: tuple) -> None:
    try:
        fn(*args)
    except Exception:  # routing is retried by the clock's sweep
        log.exception("background work failed")
    finally:
        close_old_connections()  # this pool thread's connection goes back


# Per key: runs in flight in this process, and whether another run was asked for meanwhile.
_pending: dict[Hashable, list] = {}
_pending_lock = threading.Lock()
# Two runs per key at once: a new request starts at once when one run is busy with a long pass, yet a burst of
# 50 requests a second becomes a few runs (each a pass of many offers) instead of 50 threads on the same rows.
IN_FLIGHT_PER_KEY = 1


def coalesced(key: Hashable, fn: Callable[..., object], *args: object) -> None:
    """`after_answer`, folded per key: with `IN_FLIGHT_PER_KEY` runs for `key` in flight in this process, any
    number of further requests become one more run after them."""
    with _pending_lock:
        state = _pending.setdefault(key, [0, False])
        if state[0] >= IN_FLIGHT_PER_KEY:
            state[1] = True
            return
        state[0] += 1
    after_answer(_drain, key, fn, args)


def _drain(key: Hashable, fn: Callable[..., object], args: tuple) -> None:
    again = True
    try:
        while again:
            fn(*args)
            with _pending_lock:
                state = _pending[key]
                again, state[1] = state[1], False
    finally:
        with _pending_lock:  # a failed run drops what was folded into it: the clock's sweep routes every second
            state = _pending[key]
            state[0] -= 1
            if state[0] <= 0:
                del _pending[key]
