"""`/metrics` for Prometheus: what every process counted (added up across processes in the scaled set-up) and what
the database says at scrape time. Protected: a bearer token (RINGBACK_METRICS_TOKEN, for the scraper) or a signed-in
user with the Admin role."""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from ..enums import CallbackState, EffectStatus
from ..models import Effect, Queue
from ..telephony import sip
from ..telephony.sip import health as sip_health


class DatabaseCollector:
    """Figures the database holds, read at scrape time: two statements."""

    def collect(self):
        now = timezone.now()
        depth = GaugeMetricFamily("ringback_queue_depth", "Callbacks waiting in line now (queued), by queue.", labels=["queue"])
        oldest = GaugeMetricFamily(
            "ringback_queue_oldest_wait_seconds", "How long the first callback in line has waited, by queue.", labels=["queue"]
        )
        scheduled = GaugeMetricFamily(
            "ringback_callbacks_scheduled", "Scheduled callbacks not yet due, by queue.", labels=["queue"]
        )
        rows = Queue.objects.annotate(
            waiting=Count("callbacks", filter=Q(callbacks__state=CallbackState.QUEUED)),
            scheduled=Count("callbacks", filter=Q(callbacks__state=CallbackState.SCHEDULED)),
            first=Min("callbacks__enqueued_at", filter=Q(callbacks__state=CallbackState.QUEUED)),
        ).values_list("slug", "waiting", "scheduled", "first")
        for slug, waiting, waiting_later, first in rows:
            depth.add_metric([slug], waiting)
            scheduled.add_metric([slug], waiting_later)
            oldest.add_metric([slug], (now - first).total_seconds() if first else 0)
        effects = GaugeMetricFamily(
            "ringback_effects", "Durable side effects (switch commands, e-mail, webhooks) by status.", labels=["status"]
        )
        counts = dict(Effect.objects.values_list("status").order_by().annotate(n=Count("pk")))
        for status in EffectStatus.values:
            effects.add_metric([status], counts.get(status, 0))
        late = GaugeMetricFamily("ringback_effects_due", "Pending side effects whose time has come (the task queue's depth).")
        late.add_metric([], Effect.objects.filter(status=EffectStatus.PENDING, next_attempt_at__lte=now).count())
        yield from (depth, oldest, scheduled, effects, late)


class SipCollector:
    """With the browser softphone: is kamailio up, how many users it has registered, is rtpengine up."""

    def collect(self):
        up = GaugeMetricFamily("ringback_sip_up", "1 when the SIP part answers its probe, by part.", labels=["part"])
        registered = GaugeMetricFamily("ringback_sip_registered_users", "Users registered at kamailio (agents' browsers, lines).")
        try:
            registered.add_metric([], sip_health.kamailio())
            up.add_metric(["kamailio"], 1)
        except (OSError, RuntimeError):
            up.add_metric(["kamailio"], 0)
        try:
            sip_health.rtpengine()
            up.add_metric(["rtpengine"], 1)
        except (OSError, RuntimeError):
            up.add_metric(["rtpengine"], 0)
        yield up
        if registered.samples:
            yield registered


def _allowed(request: HttpRequest) -> bool:
    token = settings.RINGBACK_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    user = request.user
    return user.is_authenticated and user.is_active and user.has_perm("callbacks.all_queues")


def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        response = HttpResponse(
            "Metrics need the scraper's bearer token (RINGBACK_METRICS_TOKEN) or the Admin role.\n", status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    if sip.enabled():
        database.register(SipCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # every process's counts, added up
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:  # one process: its own registry
        counted = REGISTRY
    return HttpResponse(generate_latest(counted) + generate_latest(database), content_type=CONTENT_TYPE_LATEST)
