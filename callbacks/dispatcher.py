"""The clock of Ringback: due callbacks, expired offers, and a routing safety net.

Events route at once (see routing); this sweep only handles time. It runs in
`manage.py dispatcher` processes in scaled mode, or inside the web process
with the embedded in-process channel layer (where a separate process could
not reach the browsers' websockets).
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from . import lifecycle, routing
from .telephony import telephony

log = logging.getLogger(__name__)


def sweep_once() -> dict[str, int]:
    """One pass of the clock. Safe to run from any number of processes at once."""
    close_old_connections()
    try:
        telephony().tick()
        return {
            "due": lifecycle.do_enqueue_due(),
            "expired": lifecycle.do_expire_offers(),
            "after_call_work": lifecycle.do_end_after_call_work(),
            "reminders": lifecycle.do_remind_owners(),
            "routed": routing.route_everything(),
        }
    finally:
        close_old_connections()


async def run_forever(interval: float) -> None:
    while True:
        try:
            await sync_to_async(sweep_once)()
        except Exception:
            log.exception("dispatcher sweep failed")
        await asyncio.sleep(interval)


def with_inprocess_dispatcher(app):
    """Wrap the ASGI app so the first request starts the sweep in this process's loop."""
    if settings.RINGBACK_DISPATCHER != "inprocess":
        return app
    state: dict[str, asyncio.Task | None] = {"task": None}

    async def wrapped(scope, receive, send):
        task = state["task"]
        if task is None or task.done():
            state["task"] = asyncio.get_running_loop().create_task(run_forever(settings.RINGBACK_SWEEP_SECONDS))
        return await app(scope, receive, send)

    return wrapped
