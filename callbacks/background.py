"""Work after a commit that the HTTP answer need not wait for (routing): on the server's thread pool while
serving, so the intake API and a click answer at once while routing catches up; at once elsewhere (the
dispatcher, the task worker, tests)."""

from __future__ import annotations

import logging
from collections.abc import Callable

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
