"""/healthz (the process answers) and /readyz (it can work: database, cache, channel layer, clock, task worker)."""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from callbacks.dispatcher import HEARTBEAT_KEY, beat
from callbacks.enums import EffectKind, EffectStatus
from callbacks.models import Effect

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_answers_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"ok": True}


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
