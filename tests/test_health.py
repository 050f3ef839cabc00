"""/healthz (the process answers) and /readyz (it can work: database, cache, channel layer, clock, task worker)."""

import os
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone

from callbacks.dispatcher import HEARTBEAT_KEY, beat
from callbacks.enums import EffectKind, EffectStatus
from callbacks.models import Effect

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_answers_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"ok": True, "pid": os.getpid()}


def test_ready_when_every_part_answers(client):
    beat()
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    checks = response.json()["checks"]
    assert checks["database"] == checks["cache"] == checks["channel_layer"] == checks["task_worker"] == "ok"
    assert checks["clock"].startswith("swept")


def test_not_ready_when_the_clock_stopped(client):
    cache.set(HEARTBEAT_KEY, time.time() - 120, timeout=60)
    response = client.get("/readyz")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["checks"]["clock"].startswith("failing: the clock last swept 12")


def test_not_ready_when_side_effects_pile_up(client):
    beat()
    now = timezone.now()
    Effect.objects.create(
        key="e-late",
        kind=EffectKind.EMAIL,
        status=EffectStatus.PENDING,
        next_attempt_at=now - timedelta(minutes=5),
        created_at=now - timedelta(minutes=5),
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "1 side effects waiting" in response.json()["checks"]["task_worker"]


@pytest.mark.parametrize(("url", "kind"), [("/api/v1/callbacks", "json"), ("/request/sales/", "html")])
def test_a_database_that_does_not_answer_gives_503_with_retry_after(client, monkeypatch, url, kind):
    """Whatever the view was doing when the database went away: 503 and Retry-After, never a 500."""

    def unreachable(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

    monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", unreachable)
    response = client.get(url, HTTP_AUTHORIZATION="Bearer rb_anything")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert ("application/json" in response["Content-Type"]) == (kind == "json")


def test_with_the_softphone_a_silent_kamailio_or_rtpengine_is_not_ready(client, settings):
    """Nothing answers on the SIP ports (the real parts answering are tests/sip/test_health.py): /readyz says which
    part is failing, and /metrics reports both parts down."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        silent = s.getsockname()[1]
    settings.RINGBACK_TELEPHONY = "callbacks.telephony.sip.softphone.BrowserSoftphone"
    settings.RINGBACK_SIP_ADDRESS, settings.RINGBACK_SIP_PORT, settings.RINGBACK_RTPENGINE_PORT = "127.0.0.1", silent, silent
    settings.RINGBACK_METRICS_TOKEN = "scrape-secret"
    beat()
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["kamailio"].startswith("failing:") and checks["rtpengine"].startswith("failing:")
    assert checks["database"] == "ok"
    metrics = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").content.decode()
    assert 'ringback_sip_up{part="kamailio"} 0.0' in metrics and 'ringback_sip_up{part="rtpengine"} 0.0' in metrics
    settings.RINGBACK_TELEPHONY = "callbacks.telephony.simulator.switch.SimulatedSwitch"
    assert "kamailio" not in client.get("/readyz").json()["checks"], "only with the softphone"
