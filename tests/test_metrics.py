"""/metrics: Prometheus text with the realtime path, queues, offers, pushes, sockets, side effects and requests;
protected by the scraper's token or the Admin role."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from callbacks import lifecycle
from callbacks.models import CallbackRequest, Offer

from .factories import make_callback, set_ready

pytestmark = pytest.mark.django_db(transaction=True)


def samples(response) -> dict:
    out = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_need_the_token_or_the_admin_role(client, settings, queue):
    settings.RINGBACK_METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "secret-pass-123"))
    assert client.get("/metrics").status_code == 200


def test_what_the_operator_watches_is_there(client, settings, queue, alice, bob):
    settings.RINGBACK_METRICS_TOKEN = "scrape-secret"
    before = samples(client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret"))
    make_callback(queue, "+33612345001")
    make_callback(queue, "+33612345002")
    CallbackRequest.objects.update(enqueued_at=timezone.now() - timedelta(seconds=90))
    set_ready(alice)  # one of them rings Alice
    offer = Offer.objects.get(agent=alice)
    lifecycle.do_acknowledge_offer(agent_id=alice.pk, offer_id=offer.pk)
    lifecycle.do_reject_offer(user=alice.user, offer_id=offer.pk)
    got = samples(client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret"))

    def grew(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return got.get(key, 0) - before.get(key, 0)

    assert got[("ringback_queue_depth", (("queue", "billing"),))] == 1  # one waits; the rejected one rings Alice again
    assert got[("ringback_queue_oldest_wait_seconds", (("queue", "billing"),))] >= 90
    assert grew("ringback_offer_delivery_seconds_count") == 1
    assert grew("ringback_offers_total", outcome="rejected") == 1
    assert grew("ringback_pushes_total", result="sent") >= 1
    assert grew("ringback_http_request_duration_seconds_count", method="GET", status="2xx") >= 1
    assert ("ringback_effects", (("status", "pending"),)) in got
    assert ("ringback_effects_due", ()) in got
