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


# Keys with a run in flight in this process, and whether another run was asked for meanwhile.
_pending: dict[Hashable, bool] = {}
_pending_lock = threading.Lock()


def coalesced(key: Hashable, fn: Callable[..., object], *args: object) -> None:
    """`after_answer`, folded per key: while a run for `key` is in flight in this process, any number of further
    requests become one more run after it. A burst of 50 requests a second routes a queue in one thread, a pass of
    many offers at a time, instead of 50 threads fighting over the same rows (two runs per key collapsed again
    at 50/s: docs/performance.md, earlier measurements)."""
    with _pending_lock:
        if key in _pending:
            _pending[key] = True
            return
        _pending[key] = False
    after_answer(_drain, key, fn, args)


def _drain(key: Hashable, fn: Callable[..., object], args: tuple) -> None:
    again = True
    try:
        while again:
            fn(*args)
            with _pending_lock:  # decide and release under one lock, or a request arriving in between is lost
                again = _pending[key]
                if again:
                    _pending[key] = False
                else:
                    del _pending[key]
    except BaseException:
        with _pending_lock:  # a failed run drops what was folded into it: the clock's sweep routes every second
            _pending.pop(key, None)
        raise
