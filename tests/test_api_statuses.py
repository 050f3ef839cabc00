"""REST API v1's document, held to the live app through Django's test client: every unsafe operation takes an
`Idempotency-Key` and replays its first answer without doing anything twice; every status an operation declares
is produced by a request listed here (`PRODUCE`), so none is declared that cannot happen; a method a path does not
offer is refused in the API's JSON shape.

The statuses that need a fault are produced by injecting it (`FAULTS`): the database not answering (503, tested in
depth in tests/test_outages.py and, with a real PostgreSQL stopped, tests/test_faults.py) and a spent request budget
(429, tests/test_api_v1.py's throttle tests). No declared status is left unproduced, so there is no allow-list."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from callbacks import lifecycle
from callbacks.api import api
from callbacks.enums import CallbackState, HistoryKind
from callbacks.lifecycle import CallbackInput
from callbacks.models import (
    ApiClient,
    CallbackRequest,
    HistoryEvent,
    IdempotencyRecord,
    WebhookDelivery,
    WebhookSubscription,
)

from .factories import make_agent, make_api_client, set_ready

# The document as served (`/api/v1/openapi.json`), read once to parametrise the tests.
DOCUMENT = json.loads(json.dumps(api.get_openapi_schema(), default=str))
OPERATIONS = [(method.upper(), path) for path, operations in DOCUMENT["paths"].items() for method in operations]
UNSAFE = [(method, path) for method, path in OPERATIONS if method in ("POST", "PUT", "PATCH", "DELETE")]
DECLARED = [
    (method, path, int(status)) for method, path in OPERATIONS for status in DOCUMENT["paths"][path][method.lower()]["responses"]
]

# The one unsafe operation without the key: an export changes nothing (a retry is safe as it is, and each answer
# served is a disclosure the audit trail must count), and a kept zip would hold the person's data beyond the reach
# of their erasure for a day.
WITHOUT_KEY = {("POST", "/api/v1/privacy/export")}

NUMBER = "+33612345678"
PERSON = "+33612340000"
HOOK_URL = "http://127.0.0.1:9/ringback"  # the tests allow private addresses (tests/conftest.py, local_webhooks)


@dataclass
class World:
    """One Admin-role client with a callback, a webhook and a finished delivery; a person to erase; a plain client."""

    client: ApiClient
    token: str
    callback: CallbackRequest
    hook: WebhookSubscription
    delivery: WebhookDelivery
    plain: str


@pytest.fixture
def world(queue) -> World:
    client, token = make_api_client("Integration")
    client.role = "admin"
    client.requests_per_minute = 0
    client.save()
    callback, _ = lifecycle.do_create_callback(
        request=CallbackInput(queue="billing", phone_number=NUMBER, customer_name="Léa Moreau"), api_client=client
    )
    lifecycle.do_create_callback(request=CallbackInput(queue="billing", phone_number=PERSON), api_client=client)
    hook = lifecycle.do_subscribe(client=client, url=HOOK_URL)
    event = {"type": "callback.state_changed", "id": callback.history.first().pk, "reference": callback.reference}
    # No effect: a delivery that is no longer being tried (it shows as failed), so it may be replayed.
    delivery = WebhookDelivery.objects.create(subscription=hook, event_type=event["type"], event=event, created_at=timezone.now())
    _, plain = make_api_client("Website")
    return World(client, token, callback, hook, delivery, plain)


def send(client: Client, method: str, url: str, token: str | None, body=None, *, key: str | None = None, **extra):
    """One request as an integrator sends it: a bearer token, a JSON body, perhaps an Idempotency-Key."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if key is not None:
        headers["Idempotency-Key"] = key
    kw = {"headers": headers, **extra}
    if "data" not in extra and method.lower() != "get":  # no body: an empty one, not the test client's multipart
        kw.update(data=json.dumps(body) if body is not None else "", content_type="application/json")
    return getattr(client, method.lower())(url, **kw)


# --- One valid request per unsafe operation, and what it changes --------------------------------------------------


@dataclass
class Unsafe:
    url: str
    body: dict | None
    effects: Callable[[], object]  # what a second run would change


def history(world: World) -> Callable[[], object]:
    return lambda: list(HistoryEvent.objects.filter(callback=world.callback).values_list("id", flat=True))


def in_two_hours() -> str:
    return (timezone.now() + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0).isoformat()


V1 = "/api/v1"
VALID: dict[tuple[str, str], Callable[[World], Unsafe]] = {
    ("POST", f"{V1}/callbacks"): lambda w: Unsafe(
        f"{V1}/callbacks", {"queue": "billing", "phone_number": "+33612345001"}, CallbackRequest.objects.count
    ),
    ("PATCH", f"{V1}/callbacks/{{reference}}"): lambda w: Unsafe(
        f"{V1}/callbacks/{w.callback.reference}", {"data": {"order": "A-1"}}, history(w)
    ),
    ("POST", f"{V1}/callbacks/{{reference}}/cancel"): lambda w: Unsafe(
        f"{V1}/callbacks/{w.callback.reference}/cancel", {"reason": "Sorted online"}, history(w)
    ),
    ("POST", f"{V1}/callbacks/{{reference}}/reschedule"): lambda w: Unsafe(
        f"{V1}/callbacks/{w.callback.reference}/reschedule", {"desired_time": in_two_hours()}, history(w)
    ),
    ("POST", f"{V1}/webhooks"): lambda w: Unsafe(
        f"{V1}/webhooks", {"url": HOOK_URL + "/second"}, WebhookSubscription.objects.count
    ),
    ("PATCH", f"{V1}/webhooks/{{subscription_id}}"): lambda w: Unsafe(
        f"{V1}/webhooks/{w.hook.pk}",
        {"url": HOOK_URL + "/moved", "events": ["callback.updated"]},
        lambda: WebhookSubscription.objects.values_list("url", "events", "updated_at").get(pk=w.hook.pk),
    ),
    ("DELETE", f"{V1}/webhooks/{{subscription_id}}"): lambda w: Unsafe(
        f"{V1}/webhooks/{w.hook.pk}", None, WebhookSubscription.objects.count
    ),
    ("POST", f"{V1}/webhooks/{{subscription_id}}/rotate-secret"): lambda w: Unsafe(
        f"{V1}/webhooks/{w.hook.pk}/rotate-secret",
        {"overlap_seconds": 60},
        lambda: WebhookSubscription.objects.values_list("secret", "previous_secret").get(pk=w.hook.pk),
    ),
    ("POST", f"{V1}/webhooks/{{subscription_id}}/deliveries/{{delivery_id}}/replay"): lambda w: Unsafe(
        f"{V1}/webhooks/{w.hook.pk}/deliveries/{w.delivery.pk}/replay", None, WebhookDelivery.objects.count
    ),
    ("POST", f"{V1}/privacy/erase"): lambda w: Unsafe(
        f"{V1}/privacy/erase",
        {"number": PERSON},
        lambda: HistoryEvent.objects.filter(kind=HistoryKind.PRIVACY).count(),
    ),
    ("POST", f"{V1}/privacy/export"): lambda w: Unsafe(f"{V1}/privacy/export", {"number": NUMBER}, lambda: None),
}


def test_every_unsafe_operation_has_a_valid_request_here():
    assert set(VALID) == set(UNSAFE)


@pytest.mark.parametrize(("method", "path"), UNSAFE, ids=[f"{m} {p}" for m, p in UNSAFE])
def test_every_unsafe_operation_declares_the_key_and_replays_its_first_answer(client, world, method, path):
    """The same key and body twice: the same answer, marked `Idempotent-Replayed: true`, and nothing done again."""
    operation = DOCUMENT["paths"][path][method.lower()]
    headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
    if (method, path) in WITHOUT_KEY:
        assert "Idempotency-Key" not in headers and "Idempotency-Key" in operation["description"]
        return
    assert "Idempotency-Key" in headers
    request = VALID[(method, path)](world)
    first = send(client, method, request.url, world.token, request.body, key="retry-1")
    assert first.status_code < 300, first.content
    assert not first.has_header("Idempotent-Replayed")
    after_first = request.effects()
    again = send(client, method, request.url, world.token, request.body, key="retry-1")
    assert (again.status_code, again.content and again.json()) == (first.status_code, first.content and first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert request.effects() == after_first
    assert "Idempotent-Replayed" in operation["responses"][str(first.status_code)]["headers"]


def test_a_refusal_is_replayed_with_the_header_the_document_declares_for_it(client, world):
    """A refusal the operation itself decided (here: the callback is closed) is kept like a success."""
    url = f"{V1}/callbacks/{world.callback.reference}/cancel"
    assert send(client, "post", url, world.token, {}).status_code == 200
    first = send(client, "post", url, world.token, {}, key="late")
    again = send(client, "post", url, world.token, {}, key="late")
    assert first.status_code == again.status_code == 409 and again["Idempotent-Replayed"] == "true"
    declared = DOCUMENT["paths"][f"{V1}/callbacks/{{reference}}/cancel"]["post"]["responses"]["409"]["headers"]
    assert "Idempotent-Replayed" in declared


# --- Every declared status, produced ---------------------------------------------------------------------------------


def idempotency_record(world: World, url: str, body, key: str, **fields) -> None:
    """The key's row as `callbacks.api.idempotent` writes it: a first request with it is still running."""
    raw = json.dumps(body).encode() if body is not None else b""
    fingerprint = hashlib.sha256(url.encode() + b"\n" + raw).hexdigest()
    IdempotencyRecord.objects.create(
        api_client=world.client, key=key, fingerprint=fingerprint, created_at=timezone.now(), **fields
    )


def worked(world: World) -> None:
    """An agent becomes ready and is offered the oldest waiting callback, the person's: it is being worked."""
    set_ready(make_agent("alice", world.callback.queue))
    world.callback.refresh_from_db()
    assert world.callback.state == CallbackState.OFFERED


def produce_409(world: World, client: Client, method: str, path: str):
    """A first request with this key is still running."""
    request = VALID[(method, path)](world)
    idempotency_record(world, request.url, request.body, "running")
    return send(client, method, request.url, world.token, request.body, key="running")


# The requests that produce a given answer of one operation. Those every unsafe operation shares are `SHARED`.
Produce = Callable[[World, Client], object]
GET_CALLBACK = f"{V1}/callbacks/{{reference}}"
PRODUCE: dict[tuple[str, str, int], Produce] = {
    # Reads.
    ("GET", f"{V1}/callbacks", 200): lambda w, c: send(c, "get", f"{V1}/callbacks", w.token),
    ("GET", f"{V1}/callbacks", 400): lambda w, c: send(c, "get", f"{V1}/callbacks?created_after=2026-01-01T00:00", w.token),
    ("GET", f"{V1}/callbacks", 422): lambda w, c: send(c, "get", f"{V1}/callbacks?limit=0", w.token),
    ("GET", GET_CALLBACK, 200): lambda w, c: send(c, "get", f"{V1}/callbacks/{w.callback.reference}", w.token),
    ("GET", GET_CALLBACK, 404): lambda w, c: send(c, "get", f"{V1}/callbacks/NOPE", w.token),
    ("GET", f"{GET_CALLBACK}/events", 200): lambda w, c: send(c, "get", f"{V1}/callbacks/{w.callback.reference}/events", w.token),
    ("GET", f"{GET_CALLBACK}/events", 404): lambda w, c: send(c, "get", f"{V1}/callbacks/NOPE/events", w.token),
    ("GET", f"{GET_CALLBACK}/events", 422): lambda w, c: send(
        c, "get", f"{V1}/callbacks/{w.callback.reference}/events?limit=999", w.token
    ),
    ("GET", f"{GET_CALLBACK}/position", 200): lambda w, c: send(
        c, "get", f"{V1}/callbacks/{w.callback.reference}/position", w.token
    ),
    ("GET", f"{GET_CALLBACK}/position", 404): lambda w, c: send(c, "get", f"{V1}/callbacks/NOPE/position", w.token),
    ("GET", f"{V1}/queues", 200): lambda w, c: send(c, "get", f"{V1}/queues", w.token),
    ("GET", f"{V1}/queues/{{slug}}/availability", 200): lambda w, c: send(c, "get", f"{V1}/queues/billing/availability", w.token),
    ("GET", f"{V1}/queues/{{slug}}/availability", 400): lambda w, c: send(
        c, "get", f"{V1}/queues/billing/availability?start=2030-01-01T00:00", w.token
    ),
    ("GET", f"{V1}/queues/{{slug}}/availability", 404): lambda w, c: send(c, "get", f"{V1}/queues/nope/availability", w.token),
    ("GET", f"{V1}/queues/{{slug}}/availability", 422): lambda w, c: send(
        c, "get", f"{V1}/queues/billing/availability?limit=0", w.token
    ),
    ("GET", f"{V1}/webhooks", 200): lambda w, c: send(c, "get", f"{V1}/webhooks", w.token),
    ("GET", f"{V1}/webhooks/{{subscription_id}}", 200): lambda w, c: send(c, "get", f"{V1}/webhooks/{w.hook.pk}", w.token),
    ("GET", f"{V1}/webhooks/{{subscription_id}}", 404): lambda w, c: send(c, "get", f"{V1}/webhooks/999999", w.token),
    ("GET", f"{V1}/webhooks/{{subscription_id}}", 422): lambda w, c: send(c, "get", f"{V1}/webhooks/first", w.token),
    ("GET", f"{V1}/webhooks/{{subscription_id}}/deliveries", 200): lambda w, c: send(
        c, "get", f"{V1}/webhooks/{w.hook.pk}/deliveries", w.token
    ),
    ("GET", f"{V1}/webhooks/{{subscription_id}}/deliveries", 404): lambda w, c: send(
        c, "get", f"{V1}/webhooks/999999/deliveries", w.token
    ),
    ("GET", f"{V1}/webhooks/{{subscription_id}}/deliveries", 422): lambda w, c: send(
        c, "get", f"{V1}/webhooks/{w.hook.pk}/deliveries?status=lost", w.token
    ),
    # Creates, beyond the shared answers.
    ("POST", f"{V1}/callbacks", 200): lambda w, c: send(
        c, "post", f"{V1}/callbacks", w.token, {"queue": "billing", "phone_number": NUMBER}
    ),
    ("POST", f"{V1}/callbacks", 409): lambda w, c: send(
        c, "post", f"{V1}/callbacks", w.plain, {"queue": "billing", "phone_number": NUMBER}
    ),
    ("POST", f"{V1}/callbacks", 503): lambda w, c: full_queue(w, c),
    ("POST", f"{V1}/webhooks", 400): lambda w, c: send(c, "post", f"{V1}/webhooks", w.token, {"url": "ftp://example.com/"}),
    # Changes of something named in the path that is unknown.
    ("PATCH", GET_CALLBACK, 404): lambda w, c: send(c, "patch", f"{V1}/callbacks/NOPE", w.token, {"data": {"a": 1}}),
    ("POST", f"{GET_CALLBACK}/cancel", 404): lambda w, c: send(c, "post", f"{V1}/callbacks/NOPE/cancel", w.token, {}),
    ("POST", f"{GET_CALLBACK}/reschedule", 404): lambda w, c: send(
        c, "post", f"{V1}/callbacks/NOPE/reschedule", w.token, {"desired_time": in_two_hours()}
    ),
    ("PATCH", f"{V1}/webhooks/{{subscription_id}}", 404): lambda w, c: send(
        c, "patch", f"{V1}/webhooks/999999", w.token, {"active": False}
    ),
    ("DELETE", f"{V1}/webhooks/{{subscription_id}}", 404): lambda w, c: send(c, "delete", f"{V1}/webhooks/999999", w.token),
    ("POST", f"{V1}/webhooks/{{subscription_id}}/rotate-secret", 404): lambda w, c: send(
        c, "post", f"{V1}/webhooks/999999/rotate-secret", w.token, {}
    ),
    ("POST", f"{V1}/webhooks/{{subscription_id}}/deliveries/{{delivery_id}}/replay", 404): lambda w, c: send(
        c, "post", f"{V1}/webhooks/{w.hook.pk}/deliveries/999999/replay", w.token
    ),
    ("POST", f"{V1}/privacy/export", 404): lambda w, c: send(
        c, "post", f"{V1}/privacy/export", w.token, {"number": "+33611111111"}
    ),
    # The privacy operations: for Admin clients only; refused while the person's callback is worked.
    ("POST", f"{V1}/privacy/export", 400): lambda w, c: send(c, "post", f"{V1}/privacy/export", w.token, {}),
    ("POST", f"{V1}/privacy/export", 403): lambda w, c: send(c, "post", f"{V1}/privacy/export", w.plain, {"number": NUMBER}),
    ("POST", f"{V1}/privacy/export", 409): lambda w, c: (
        worked(w),
        send(c, "post", f"{V1}/privacy/export", w.token, {"number": NUMBER}),
    )[1],
    ("POST", f"{V1}/privacy/erase", 403): lambda w, c: send(c, "post", f"{V1}/privacy/erase", w.plain, {"number": NUMBER}),
}


def full_queue(world: World, client: Client):
    world.callback.queue.max_queued = 1
    world.callback.queue.save()
    return send(client, "post", f"{V1}/callbacks", world.token, {"queue": "billing", "phone_number": "+33612345003"})


def shared(world: World, client: Client, method: str, path: str, status: int):
    """The answers every operation (401, 429, 503), or every unsafe one (2xx, 400, 409, 413, 415, 422), gives the
    same way; None when this one does not give it this way."""
    known = (method, path) in VALID
    url, body = (VALID[(method, path)](world).url, VALID[(method, path)](world).body) if known else (concrete(world, path), None)
    if status == 401:
        return send(client, method, url, None, body)
    if status == 429:  # FAULTS: a spent budget
        ApiClient.objects.filter(pk=world.client.pk).update(requests_per_minute=1)
        send(client, "get", f"{V1}/queues", world.token)
        return send(client, method, url, world.token, body)
    if status == 503:  # FAULTS: the database does not answer when the token is looked up
        return database_down(client, method, url, world.token, body)
    if not known:
        return None
    keyed = (method, path) not in WITHOUT_KEY
    if status < 300:
        return send(client, method, url, world.token, body)
    if status == 400 and keyed:  # a key over 200 characters
        return send(client, method, url, world.token, body, key="k" * 201)
    if status == 409 and keyed:
        return produce_409(world, client, method, path)
    if status == 413:
        return send(client, method, url, world.token, data="x" * (65 * 1024), content_type="application/json")
    if status == 415:
        return send(client, method, url, world.token, data=json.dumps(body or {}), content_type="text/plain")
    if status == 422 and keyed:  # the key reused on another request
        idempotency_record(world, f"{V1}/elsewhere", None, "reused", status=200)
        return send(client, method, url, world.token, body, key="reused")
    if status == 422:
        return send(client, method, url, world.token, {"number": 12, "colour": "red"})
    return None


def concrete(world: World, path: str) -> str:
    return (
        path.replace("{reference}", world.callback.reference)
        .replace("{subscription_id}", str(world.hook.pk))
        .replace("{delivery_id}", str(world.delivery.pk))
        .replace("{slug}", "billing")
    )


def database_down(client: Client, method: str, url: str, token: str, body):
    """The database stops answering as the token is looked up (the first statement of every request)."""
    with mock.patch.object(ApiClient, "for_token", side_effect=OperationalError("connection refused")):
        return send(client, method, url, token, body)


def test_every_listed_request_is_for_a_declared_status():
    assert set(PRODUCE) <= set(DECLARED)


@pytest.mark.parametrize(("method", "path", "status"), DECLARED, ids=[f"{m} {p} {s}" for m, p, s in DECLARED])
def test_every_declared_status_is_produced_by_a_listed_request(client, world, method, path, status):
    produce = PRODUCE.get((method, path, status))
    response = produce(world, client) if produce else shared(world, client, method, path, status)
    assert response is not None, f"No request here produces {status} for {method} {path}: produce it, or undeclare it"
    assert response.status_code == status, response.content
    if status >= 400:
        assert response["Content-Type"].startswith("application/json") and response.json()["code"]
    if status in (429, 503):
        assert int(response["Retry-After"]) > 0


# --- A method a path does not offer -------------------------------------------------------------------------------


def test_a_method_the_path_does_not_offer_is_a_json_405_with_allow(client, world):
    response = send(client, "put", f"{V1}/webhooks/{world.hook.pk}", world.token, {"url": HOOK_URL})
    assert response.status_code == 405 and response["Allow"] == "DELETE, GET, PATCH"
    assert response.json() == {"detail": "PUT is not allowed here: use DELETE, GET, PATCH.", "code": "method_not_allowed"}
    assert send(client, "delete", f"{V1}/callbacks", world.token).json()["code"] == "method_not_allowed"
