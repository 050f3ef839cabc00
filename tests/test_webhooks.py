"""Webhooks as an integrator drives them: subscribe through the API, receive real signed calls and check them with
the documentation's own Python and JavaScript examples, rotate the secret (both valid during the overlap, only the
new one after), read deliveries with their answers, replay one; and the attacks: a URL inside the walls, a
redirect, another client's subscription."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from callbacks.dispatcher import sweep_once
from callbacks.enums import EffectKind, EffectStatus
from callbacks.models import Effect, WebhookDelivery, WebhookSubscription

from .factories import make_api_client, worker
from .servers import WebhookEndpoint

DOC = Path(__file__).resolve().parents[1] / "docs" / "webhooks.md"


def example(language: str) -> str:
    """A verification example, as the documentation prints it."""
    return re.search(rf"```{language}\n(.*?)```", DOC.read_text(), re.S).group(1)


def python_verify():
    scope: dict = {}
    exec(example("python"), scope)  # noqa: S102 - the documentation's own example, run as a reader would
    return scope["verify"]


@pytest.fixture
def endpoint():
    server = WebhookEndpoint()
    yield server
    server.close()


@pytest.fixture
def crm(queue):
    return make_api_client("CRM")


def api(client, method, path, token, body=None):
    kw = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if body is not None or method == "post":
        kw.update(data=json.dumps(body) if body is not None else "", content_type="application/json")
    return getattr(client, method)("/api/v1" + path, **kw)


def subscribe(client, token, url, **extra):
    response = api(client, "post", "/webhooks", token, {"url": url, **extra})
    assert response.status_code == 201, response.content
    return response.json()


def new_callback(client, token, phone="+33612345678"):
    response = api(client, "post", "/callbacks", token, {"queue": "billing", "phone_number": phone})
    assert response.status_code == 201, response.content
    return response.json()["reference"]


def deliver_all():
    sweep_once()
    worker()


def test_a_subscription_receives_signed_events_the_documented_example_verifies(client, crm, endpoint):
    hook = subscribe(client, crm[1], endpoint.url)
    assert hook["secret"].startswith("whsec_") and hook["events"] == ["callback.state_changed", "callback.updated"]
    reference = new_callback(client, crm[1])
    deliver_all()
    assert len(endpoint.calls) == 1
    headers, body = endpoint.calls[0]
    event = json.loads(body)
    assert event["type"] == "callback.state_changed" and event["reference"] == reference and event["state"] == "queued"
    assert headers["X-Ringback-Event"] == "callback.state_changed" and headers["X-Ringback-Delivery"].startswith("webhook:")
    verify = python_verify()
    assert verify([hook["secret"]], headers["X-Ringback-Signature"], body)
    assert not verify(["whsec_someone_else"], headers["X-Ringback-Signature"], body)
    assert not verify([hook["secret"]], headers["X-Ringback-Signature"], body.replace(b"queued", b"done__"))
    assert "secret" not in api(client, "get", f"/webhooks/{hook['id']}", crm[1]).json()


# scripts/test installs Debian's nodejs; a checkout without it skips this test, but CI (CI set) fails loudly.
@pytest.mark.skipif(
    shutil.which("node") is None and not os.environ.get("CI"), reason="Node.js runs the JavaScript example (Debian's nodejs)"
)
def test_the_javascript_example_verifies_a_real_call_and_refuses_a_forged_one(client, crm, endpoint, tmp_path):
    assert shutil.which("node"), "Node.js is missing: scripts/test installs Debian's nodejs, and CI never skips this"
    hook = subscribe(client, crm[1], endpoint.url)
    new_callback(client, crm[1])
    deliver_all()
    headers, body = endpoint.calls[0]
    (tmp_path / "verify.js").write_text(example("javascript"))
    harness = (
        "const {verify} = require('./verify.js');"
        "const [secret, header, body] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify([verify([secret], header, Buffer.from(body)),"
        " verify([secret], header, Buffer.from(body + ' ')), verify(['whsec_x'], header, Buffer.from(body))]));"
    )
    stdin = json.dumps([hook["secret"], headers["X-Ringback-Signature"], body.decode()])
    run = subprocess.run(["node", "-e", harness], input=stdin, capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert json.loads(run.stdout) == [True, False, False], run.stderr


def test_rotation_signs_with_both_secrets_during_the_overlap_and_only_the_new_one_after(client, crm, endpoint):
    hook = subscribe(client, crm[1], endpoint.url)
    old = hook["secret"]
    rotated = api(client, "post", f"/webhooks/{hook['id']}/rotate-secret", crm[1], {"overlap_seconds": 3600})
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()["secret"]
    assert new != old and rotated.json()["previous_secret_valid_until"] is not None
    verify = python_verify()
    new_callback(client, crm[1], "+33612345001")
    deliver_all()
    headers, body = endpoint.calls[-1]
    assert headers["X-Ringback-Signature"].count("v1=") == 2
    assert verify([old], headers["X-Ringback-Signature"], body) and verify([new], headers["X-Ringback-Signature"], body)
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=True):
        new_callback(client, crm[1], "+33612345002")
        deliver_all()
        headers, body = endpoint.calls[-1]
        assert headers["X-Ringback-Signature"].count("v1=") == 1
        assert verify([new], headers["X-Ringback-Signature"], body)
        assert not verify([old], headers["X-Ringback-Signature"], body)
    leaked = api(client, "post", f"/webhooks/{hook['id']}/rotate-secret", crm[1], {"overlap_seconds": 0}).json()
    assert leaked["previous_secret_valid_until"] is None
    refused = api(client, "post", f"/webhooks/{hook['id']}/rotate-secret", crm[1], {"overlap_seconds": 8 * 86400})
    assert refused.status_code == 422 and refused.json()["field"] == "overlap_seconds"


def test_deliveries_keep_each_answer_and_a_delivered_one_can_be_replayed(client, crm, endpoint):
    hook = subscribe(client, crm[1], endpoint.url)
    endpoint.answers.append((500, b"database is down", {}))
    new_callback(client, crm[1])
    deliver_all()
    page = api(client, "get", f"/webhooks/{hook['id']}/deliveries", crm[1]).json()
    [first] = page["items"]
    assert first["status"] == "pending" and first["attempts"] == 1 and first["next_attempt_at"]
    assert [(a["status"], a["body"]) for a in first["answers"]] == [(500, "database is down")]
    busy = api(client, "post", f"/webhooks/{hook['id']}/deliveries/{first['id']}/replay", crm[1])
    assert busy.status_code == 409 and busy.json()["code"] == "in_progress"
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=True):
        worker()
    delivered = api(client, "get", f"/webhooks/{hook['id']}/deliveries?status=delivered", crm[1]).json()["items"]
    assert [d["id"] for d in delivered] == [first["id"]] and [a["status"] for a in delivered[0]["answers"]] == [500, 204]
    replay = api(client, "post", f"/webhooks/{hook['id']}/deliveries/{first['id']}/replay", crm[1])
    assert replay.status_code == 202 and replay.json()["replay_of"] == first["id"], replay.content
    worker()
    original, again = endpoint.calls[-2], endpoint.calls[-1]
    assert json.loads(again[1])["id"] == json.loads(original[1])["id"] == first["event_id"]
    assert again[0]["X-Ringback-Delivery"] != original[0]["X-Ringback-Delivery"]
    assert api(client, "get", f"/webhooks/{hook['id']}/deliveries", crm[1]).json()["count"] == 2


def test_a_subscription_hears_only_the_events_it_asked_for(client, crm, endpoint):
    subscribe(client, crm[1], endpoint.url, events=["callback.updated"])
    reference = new_callback(client, crm[1])
    api(client, "patch", f"/callbacks/{reference}", crm[1], {"data": {"order": "A-7"}, "customer_name": "Léa"})
    api(client, "post", f"/callbacks/{reference}/cancel", crm[1])
    deliver_all()
    events = [json.loads(body) for _, body in endpoint.calls]
    assert [(e["type"], e["changed"]) for e in events] == [("callback.updated", ["the customer's name", "order"])]


def test_a_subscription_moves_to_another_url_and_other_events(client, crm, endpoint):
    old = WebhookEndpoint()
    try:
        hook = subscribe(client, crm[1], old.url)
        changed = api(client, "patch", f"/webhooks/{hook['id']}", crm[1], {"url": endpoint.url, "events": ["callback.updated"]})
        assert changed.status_code == 200, changed.content
        assert (changed.json()["url"], changed.json()["events"]) == (endpoint.url, ["callback.updated"])
        shown = api(client, "get", f"/webhooks/{hook['id']}", crm[1]).json()
        assert (shown["url"], shown["events"], shown["active"]) == (endpoint.url, ["callback.updated"], True)
        reference = new_callback(client, crm[1])
        api(client, "patch", f"/callbacks/{reference}", crm[1], {"data": {"order": "A-8"}})
        deliver_all()
        assert old.calls == []
        assert [json.loads(body)["type"] for _, body in endpoint.calls] == ["callback.updated"]
    finally:
        old.close()


def test_a_client_lists_its_own_subscriptions_oldest_first_without_secrets(client, crm, endpoint):
    first = subscribe(client, crm[1], endpoint.url)
    second = subscribe(client, crm[1], endpoint.url + "/second", events=["callback.updated"])
    _, other = make_api_client("Other")
    subscribe(client, other, endpoint.url + "/other")
    listed = api(client, "get", "/webhooks", crm[1])
    assert listed.status_code == 200
    assert [(h["id"], h["url"], h["events"]) for h in listed.json()] == [
        (first["id"], endpoint.url, ["callback.state_changed", "callback.updated"]),
        (second["id"], endpoint.url + "/second", ["callback.updated"]),
    ]
    assert all("secret" not in h for h in listed.json())


def test_the_openapi_document_describes_the_events_their_payload_and_signature(client):
    document = client.get("/api/v1/openapi.json").json()
    assert set(document["webhooks"]) == {"callback.state_changed", "callback.updated"}
    for event in document["webhooks"].values():
        call = event["post"]
        assert call["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WebhookEvent"}
        headers = {h["name"]: h for h in call["parameters"] if h["in"] == "header"}
        assert set(headers) == {"X-Ringback-Signature", "X-Ringback-Delivery", "X-Ringback-Event"}
        assert headers["X-Ringback-Signature"]["required"] and "HMAC-SHA256" in headers["X-Ringback-Signature"]["description"]
        assert "X-Ringback-Signature" in call["description"] and "five minutes" in call["description"]
    payload = document["components"]["schemas"]["WebhookEvent"]
    assert {"type", "id", "at", "reference", "queue", "state", "message", "desired_time", "changed"} <= set(payload["properties"])
    assert {"type", "id", "reference", "state"} <= set(payload["required"])


def test_a_new_subscription_hears_nothing_of_the_past(client, crm, endpoint):
    new_callback(client, crm[1])
    subscribe(client, crm[1], endpoint.url)
    deliver_all()
    assert endpoint.calls == []


def test_a_paused_subscription_catches_up_in_order_when_resumed(client, crm, endpoint):
    hook = subscribe(client, crm[1], endpoint.url)
    assert api(client, "patch", f"/webhooks/{hook['id']}", crm[1], {"active": False}).json()["active"] is False
    reference = new_callback(client, crm[1])
    api(client, "post", f"/callbacks/{reference}/cancel", crm[1])
    deliver_all()
    assert endpoint.calls == []
    api(client, "patch", f"/webhooks/{hook['id']}", crm[1], {"active": True})
    deliver_all()
    assert [json.loads(body)["state"] for _, body in endpoint.calls] == ["queued", "cancelled"]


def test_a_deleted_subscription_drops_what_was_queued_for_it(client, crm, endpoint):
    hook = subscribe(client, crm[1], endpoint.url)
    new_callback(client, crm[1])
    sweep_once()
    assert api(client, "delete", f"/webhooks/{hook['id']}", crm[1]).status_code == 204
    worker()
    assert endpoint.calls == [] and not WebhookSubscription.objects.exists() and not WebhookDelivery.objects.exists()
    assert set(Effect.objects.filter(kind=EffectKind.WEBHOOK).values_list("status", flat=True)) == {EffectStatus.DONE}


def test_a_client_has_at_most_ten_webhooks(client, crm, endpoint):
    for _ in range(10):
        subscribe(client, crm[1], endpoint.url)
    refused = api(client, "post", "/webhooks", crm[1], {"url": endpoint.url})
    assert refused.status_code == 409 and refused.json()["code"] == "too_many"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "https://example.com/x", "events": ["callback.deleted"]}, "events.0"),
        ({"url": ""}, "url"),
        ({"url": "https://example.com/x", "secret": "mine"}, "secret"),
    ],
)
def test_a_malformed_subscription_is_422(client, crm, body, field):
    response = api(client, "post", "/webhooks", crm[1], body)
    assert response.status_code == 422 and response.json()["field"] == field, response.content


# --- Attacks --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://localhost:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/hook",
        "http://192.168.1.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://2130706433/",
        "ftp://example.com/hook",
        "http://user:password@example.com/",
        "http://no-such-host.invalid/",
    ],
)
def test_a_webhook_inside_the_walls_is_refused(client, crm, settings, url):
    settings.RINGBACK_WEBHOOK_ALLOW_PRIVATE = False
    response = api(client, "post", "/webhooks", crm[1], {"url": url})
    assert response.status_code == 400 and response.json()["code"] == "url_refused", response.content
    assert not WebhookSubscription.objects.exists()


def test_an_address_that_turned_private_is_not_called(client, crm, endpoint, settings):
    """Subscribed while allowed (or while the name resolved elsewhere): each call checks again, and says why."""
    hook = subscribe(client, crm[1], endpoint.url)
    settings.RINGBACK_WEBHOOK_ALLOW_PRIVATE = False
    new_callback(client, crm[1])
    deliver_all()
    assert endpoint.calls == []
    [delivery] = api(client, "get", f"/webhooks/{hook['id']}/deliveries", crm[1]).json()["items"]
    assert delivery["answers"][0]["status"] is None and "not a public address" in delivery["answers"][0]["error"]


def test_a_redirect_is_not_followed(client, crm, endpoint):
    inside = WebhookEndpoint()
    try:
        hook = subscribe(client, crm[1], endpoint.url)
        endpoint.answers.append((302, b"", {"Location": inside.url}))
        new_callback(client, crm[1])
        deliver_all()
        assert inside.calls == []
        [delivery] = api(client, "get", f"/webhooks/{hook['id']}/deliveries", crm[1]).json()["items"]
        assert delivery["status"] == "pending" and delivery["answers"][0]["status"] == 302
    finally:
        inside.close()


def test_another_clients_webhook_is_unknown_everywhere(client, crm, endpoint):
    hook = subscribe(client, crm[1], endpoint.url)
    new_callback(client, crm[1])
    deliver_all()
    [delivery] = WebhookDelivery.objects.all()
    _, thief = make_api_client("Thief")
    assert api(client, "get", "/webhooks", thief).json() == []
    for method, path, body in (
        ("get", f"/webhooks/{hook['id']}", None),
        ("patch", f"/webhooks/{hook['id']}", {"url": "https://attacker.example/"}),
        ("post", f"/webhooks/{hook['id']}/rotate-secret", None),
        ("get", f"/webhooks/{hook['id']}/deliveries", None),
        ("post", f"/webhooks/{hook['id']}/deliveries/{delivery.pk}/replay", None),
        ("delete", f"/webhooks/{hook['id']}", None),
        ("get", "/webhooks/99999999999999999999999", None),
    ):
        response = api(client, method, path, thief, body)
        assert response.status_code in (404, 422), (method, path, response.status_code)
    stored = WebhookSubscription.objects.get()
    assert stored.url == endpoint.url and stored.secret == hook["secret"]
    assert WebhookDelivery.objects.count() == 1


# --- The move from one webhook per client (migrations 0028 and 0029) ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_clients_old_webhook_becomes_its_first_subscription_with_its_queued_calls():
    before = [("callbacks", "0027_customer_first")]
    executor = MigrationExecutor(connection)
    after = executor.loader.graph.leaf_nodes()  # and back to the latest, for the tests that follow
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    client = old.get_model("callbacks", "ApiClient").objects.create(
        name="Legacy", webhook_url="https://crm.example.com/hook", webhook_secret="s3cret", webhook_cursor=42
    )
    event = {"type": "callback.state_changed", "id": 41, "state": "queued"}
    effect = old.get_model("callbacks", "Effect").objects.create(
        key="webhook:1:41",
        kind="webhook",
        payload={"url": "https://crm.example.com/hook", "secret": "s3cret", "event": event},
        next_attempt_at=timezone.now(),
        created_at=timezone.now(),
    )
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    subscription = WebhookSubscription.objects.get(api_client_id=client.pk)
    assert (subscription.url, subscription.secret, subscription.cursor) == ("https://crm.example.com/hook", "s3cret", 42)
    assert subscription.events == ["callback.state_changed", "callback.updated"]
    delivery = WebhookDelivery.objects.get(effect_id=effect.pk)
    assert delivery.subscription == subscription and delivery.event == event
    assert Effect.objects.get(pk=effect.pk).payload == {"delivery": delivery.pk}  # no secret left in the outbox
