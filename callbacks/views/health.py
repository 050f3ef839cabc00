"""Probes: `/healthz` says the process answers; `/readyz` says it can do its work: the database answers, the shared
cache and channel layer (Redis, in scaled mode) answer, the clock swept recently, and durable side effects are not
piling up unperformed (a dead task worker); with the browser softphone, kamailio answers (and says how many users
are registered) and so does rtpengine. 503 with Retry-After and the failing checks otherwise."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from ..dispatcher import last_beat
from ..enums import EffectStatus
from ..models import Effect
from ..telephony import sip
from ..telephony.sip import health as sip_health

CLOCK_LATE_SECONDS = 30
EFFECTS_LATE = timedelta(minutes=2)


def healthz(request: HttpRequest) -> JsonResponse:
    """Alive; says which process answered (behind nginx: which web process is in the rotation)."""
    return JsonResponse({"ok": True, "pid": os.getpid()})


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _cache() -> str:
    stamp = str(time.time())
    cache.set("rb:readyz", stamp, timeout=60)
    if cache.get("rb:readyz") != stamp:
        raise RuntimeError("the cache did not keep a value")
    return "ok"


def _channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        return "none"
    async_to_sync(layer.group_send)("readyz", {"type": "readyz"})  # a send to a group nobody joined: a round trip
    return "ok"


def _clock() -> str:
    beat = last_beat()
    if beat is None:
        raise RuntimeError("the clock has not swept since the cache started")
    late = time.time() - beat
    if late > CLOCK_LATE_SECONDS:
        raise RuntimeError(f"the clock last swept {late:.0f} s ago")
    return f"swept {late:.1f} s ago"


def _task_worker() -> str:
    late = Effect.objects.filter(status=EffectStatus.PENDING, next_attempt_at__lt=timezone.now() - EFFECTS_LATE).count()
    if late:
        raise RuntimeError(f"{late} side effects waiting for more than {EFFECTS_LATE.seconds // 60} minutes")
    return "ok"


def _kamailio() -> str:
    return f"{sip_health.kamailio()} registered"


CHECKS = {"database": _database, "cache": _cache, "channel_layer": _channel_layer, "clock": _clock, "task_worker": _task_worker}
SIP_CHECKS = {"kamailio": _kamailio, "rtpengine": sip_health.rtpengine}


def readyz(request: HttpRequest) -> JsonResponse:
    results, ok = {}, True
    for name, check in (CHECKS | SIP_CHECKS if sip.enabled() else CHECKS).items():
        try:
            results[name] = check()
        except Exception as error:  # a probe reports, never raises
            ok = False
            results[name] = f"failing: {error}"[:300]
    response = JsonResponse({"ok": ok, "checks": results}, status=200 if ok else 503)
    if not ok:
        response["Retry-After"] = "5"
    return response
