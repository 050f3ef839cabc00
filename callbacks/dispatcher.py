"""The runner of Ringback's background work: the clock's sweep and the task worker.

Scaled mode runs them as processes: `manage.py dispatcher` (the clock) and
`manage.py task_worker` (django-tasks-db's worker, for durable side effects).
The embedded default runs both inside the web process, because the
in-process channel layer cannot carry a push from another process: the loop
starts with the server (Daphne's event loop), not on a first request.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from . import lifecycle
from .push import doorbell

log = logging.getLogger(__name__)

TASK_POLL_SECONDS = 0.1


def sweep_once() -> dict[str, int]:
    """One pass of the clock. Safe to run from any number of processes at once."""
    close_old_connections()
    try:
        return lifecycle.sweep()
    finally:
        close_old_connections()


# The clock says it is alive after every full sweep; /readyz reads it (see views.health).
HEARTBEAT_KEY = "rb:clock:heartbeat"


def beat() -> None:
    try:
        cache.set(HEARTBEAT_KEY, time.time(), timeout=3600)
    except Exception:  # the cache being down is /readyz's to report, not the clock's to die of
        log.warning("clock heartbeat not recorded", exc_info=True)


def last_beat() -> float | None:
    return cache.get(HEARTBEAT_KEY)


MIN_WAIT = 0.005
OVERDUE_WAIT = 0.1


class Clock:
    """When to sweep: the whole sweep every `interval` seconds, and in between exactly when the next
    scheduled callback falls due or the next offer times out, so a due callback waits milliseconds, not
    up to a whole interval. Any number of clocks may run (each step is SKIP LOCKED and state-checked)."""

    def __init__(self, interval: float):
        self.interval = interval
        self.next_full = 0.0

    def run_once(self) -> tuple[dict[str, int], float]:
        """One sweep (whole or deadlines only); returns what it did and how long to wait for the next."""
        close_old_connections()
        try:
            if time.monotonic() >= self.next_full:
                self.next_full = time.monotonic() + self.interval
                result = lifecycle.sweep()
                beat()
            else:
                result = lifecycle.sweep_deadlines()
            until_full = self.next_full - time.monotonic()
            wait = lifecycle.seconds_to_next_deadline(cap=until_full) if until_full > MIN_WAIT else until_full
        finally:
            close_old_connections()
        # Still overdue right after a sweep: another clock holds it, or it keeps failing. Do not spin.
        return result, OVERDUE_WAIT if wait <= 0 else max(MIN_WAIT, wait)


class CountingWorker(Worker):
    """django-tasks-db's worker, counting what it ran."""

    ran = 0

    def run_task(self, db_task_result) -> None:
        super().run_task(db_task_result)
        self.ran += 1


def run_ready_tasks(max_tasks: int = 200) -> int:
    """Run the task rows that are due now (durable side effects), then return how many ran."""
    worker = CountingWorker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id="inprocess-" + get_random_string(12),
        excluded_queue_names=[],
    )
    try:
        worker.run()
    finally:
        close_old_connections()
    return worker.ran


async def run_forever(interval: float) -> None:
    """The in-process runner: the clock (see `Clock`) and ready tasks, each in a worker thread."""
    clock = Clock(interval)
    due_at = 0.0
    while True:
        if time.monotonic() >= due_at:
            try:
                _, wait = await sync_to_async(clock.run_once, thread_sensitive=False)()
            except Exception:
                log.exception("dispatcher sweep failed")
                wait = interval
            due_at = time.monotonic() + wait
        try:
            await sync_to_async(run_ready_tasks, thread_sensitive=False)()
        except Exception:
            log.exception("task runner failed")
        await asyncio.sleep(max(MIN_WAIT, min(TASK_POLL_SECONDS, due_at - time.monotonic())))


def with_inprocess_dispatcher(app):
    """With RINGBACK_DISPATCHER=inprocess, start the runner with the server.

    Under Daphne it is scheduled on Daphne's event loop as soon as that loop
    runs. Any other ASGI server starts it on the first connection.
    """
    if settings.RINGBACK_DISPATCHER != "inprocess":
        return app
    state: dict[str, asyncio.Task | None] = {"task": None}

    def start() -> None:
        task = state["task"]
        if task is None or task.done():
            loop = asyncio.get_running_loop()
            doorbell.bind(loop)  # the runner's pushes go out from this loop too
            state["task"] = loop.create_task(run_forever(settings.RINGBACK_SWEEP_SECONDS))

    daphne_server = sys.modules.get("daphne.server")
    if daphne_server is not None:
        daphne_server.twisted_loop.call_soon(start)

    async def wrapped(scope, receive, send):
        start()
        return await app(scope, receive, send)

    return wrapped
