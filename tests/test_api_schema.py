"""REST API v1 against its own OpenAPI document, with schemathesis: every operation fuzzed (valid and invalid
input), then create → get → patch → reschedule → cancel → events, and subscribe → get → patch → rotate →
deliveries → delete, chained through links. No answer may be a 5xx, and every answer's status code and body must
be one the document declares.

In-process over WSGI (`schemathesis.openapi.from_wsgi`): each request commits on its own connection, so the tests
are transactional, on the file-based SQLite test database that workspace.settings configures. Bounded and
derandomized, so CI sees the same cases every run."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.utils.timezone import now
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from callbacks.models import CallbackRequest, Effect, HistoryEvent, IdempotencyRecord, WebhookSubscription

from .factories import make_api_client, make_queue, numbers

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA_PATH = "/api/v1/openapi.json"
CREATE = "POST /api/v1/callbacks"
CALLBACK = "/api/v1/callbacks/{reference}"
RESCHEDULE = f"POST {CALLBACK}/reschedule"
AVAILABILITY = "GET /api/v1/queues/{slug}/availability"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# A queue, numbers and zones that exist, so that a good share of generated requests are accepted.
PHONES = numbers(20)
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]
HYPOTHESIS = {
    "deadline": None,
    "derandomize": True,
    "database": None,  # nothing saved between runs: the same cases every time
    "suppress_health_check": list(HealthCheck),
}


def _operation(raw: dict, label: str) -> dict:
    method, path = label.split(" ", 1)
    return raw["paths"][path][method.lower()]


def add_links(raw: dict) -> None:
    """ninja writes no links: chain create (201, or 200 for the client's own open one) to get, position, reschedule
    and cancel, and those onward, by the callback's `reference`."""
    ids = {
        "Get": _operation(raw, f"GET {CALLBACK}")["operationId"],
        "Position": _operation(raw, f"GET {CALLBACK}/position")["operationId"],
        "Reschedule": _operation(raw, RESCHEDULE)["operationId"],
        "Cancel": _operation(raw, f"POST {CALLBACK}/cancel")["operationId"],
        "Patch": _operation(raw, f"PATCH {CALLBACK}")["operationId"],
        "Events": _operation(raw, f"GET {CALLBACK}/events")["operationId"],
    }
    every = ("Get", "Position", "Reschedule", "Cancel", "Patch", "Events")
    for label, status, targets in (
        (CREATE, "201", every),
        (CREATE, "200", every),
        (f"GET {CALLBACK}", "200", every[1:]),
        (f"GET {CALLBACK}/position", "200", ("Get", "Reschedule", "Cancel", "Patch")),
        (RESCHEDULE, "200", ("Get", "Position", "Cancel", "Events")),
        (f"PATCH {CALLBACK}", "200", ("Get", "Reschedule", "Cancel", "Events")),
        (f"POST {CALLBACK}/cancel", "200", ("Get", "Position", "Events")),
    ):
        _operation(raw, label)["responses"][status]["links"] = {
            f"{target}Callback": {"operationId": ids[target], "parameters": {"reference": "$response.body#/reference"}}
            for target in targets
        }


WEBHOOKS = "/api/v1/webhooks"
WEBHOOK = f"{WEBHOOKS}/{{subscription_id}}"
SUBSCRIBE = f"POST {WEBHOOKS}"


def add_webhook_links(raw: dict) -> None:
    """Subscribe (201) chained to get, patch, rotate, deliveries and delete by the subscription's `id`, and those
    onward while it exists."""
    ids = {
        "Get": _operation(raw, f"GET {WEBHOOK}")["operationId"],
        "Patch": _operation(raw, f"PATCH {WEBHOOK}")["operationId"],
        "Rotate": _operation(raw, f"POST {WEBHOOK}/rotate-secret")["operationId"],
        "Deliveries": _operation(raw, f"GET {WEBHOOK}/deliveries")["operationId"],
        "Delete": _operation(raw, f"DELETE {WEBHOOK}")["operationId"],
    }
    every = tuple(ids)
    for label, status, targets in (
        (SUBSCRIBE, "201", every),
        (f"GET {WEBHOOK}", "200", ("Patch", "Rotate", "Deliveries", "Delete")),
        (f"PATCH {WEBHOOK}", "200", ("Get", "Rotate", "Deliveries", "Delete")),
        (f"POST {WEBHOOK}/rotate-secret", "200", ("Get", "Patch", "Deliveries", "Delete")),
    ):
        _operation(raw, label)["responses"][status]["links"] = {
            f"{target}Webhook": {"operationId": ids[target], "parameters": {"subscription_id": "$response.body#/id"}}
            for target in targets
        }


def load_schema():
    schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, get_wsgi_application(), config=schemathesis.Config())
    add_links(schema.raw_schema)  # before any operation is read from it
    add_webhook_links(schema.raw_schema)

    @schema.hook("flatmap_body")
    def realistic_bodies(context, body: Any):
        """Some creates name the real queue, a valid number and zone (and some no times at all), and some moves ask
        for a time in the next two days, so that enough are accepted to feed the links and reach the later states;
        the rest go out as generated."""
        label = context.operation.label if context.operation is not None else None
        if not isinstance(body, dict) or label not in (CREATE, RESCHEDULE, SUBSCRIBE, f"PATCH {WEBHOOK}"):
            return st.just(body)
        if label in (SUBSCRIBE, f"PATCH {WEBHOOK}"):
            # A receiver's address Ringback may call (the tests allow 127.0.0.1); generated ones are mostly refused.
            hooks = st.sampled_from([f"http://127.0.0.1:9/hook/{n}" for n in range(5)])
            return st.one_of(st.just(body), hooks.map(lambda url: {**body, "url": url}))
        if label == RESCHEDULE:
            soon = st.integers(1, 48 * 4).map(lambda quarters: (now() + timedelta(minutes=15 * quarters)).isoformat())
            return st.one_of(st.just(body), soon.map(lambda when: {**body, "desired_time": when}))

        def realistic(phone: str, zone: str, timeless: bool) -> dict:
            drop = ("type", "desired_time", "window_start", "window_end") if timeless else ()
            kept = {key: value for key, value in body.items() if key not in drop}
            return {**kept, "queue": "billing", "phone_number": phone, "customer_timezone": zone}

        return st.one_of(st.just(body), st.builds(realistic, st.sampled_from(PHONES), st.sampled_from(ZONES), st.booleans()))

    @schema.hook("flatmap_path_parameters")
    def real_queue(context, path_parameters: Any):
        """Some availability questions name the real queue."""
        if context.operation is None or context.operation.label != AVAILABILITY or not isinstance(path_parameters, dict):
            return st.just(path_parameters)
        return st.sampled_from([path_parameters, {**path_parameters, "slug": "billing"}])

    return schema


SCHEMA = load_schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture
def token():
    make_queue("billing")
    client, token = make_api_client("Schemathesis")
    client.requests_per_minute = 0  # no per-client throttle: hundreds of requests in a few seconds
    client.save()
    return token


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
def test_operation_conforms(operation, mode, token):
    """Negative cases include requests without the token (401); the rest carry it."""
    headers = {"Authorization": f"Bearer {token}"}

    @hypothesis.settings(max_examples=30, phases=[Phase.explicit, Phase.generate], **HYPOTHESIS)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_create_get_reschedule_cancel(token, settings):
    """Scenarios over the callback operations: the links above plus those schemathesis infers (list → get)."""
    headers = {"Authorization": f"Bearer {token}"}

    class Lifecycle(SCHEMA.include(path_regex="^/api/v1/callbacks").as_state_machine()):
        def setup(self):
            """Each scenario starts from the same state, or Hypothesis sees the same choices lead elsewhere."""
            HistoryEvent.objects.all().purge()  # the history is append-only: only a purge removes it
            CallbackRequest.objects.all().delete()
            IdempotencyRecord.objects.all().delete()
            Effect.objects.all().delete()
            settings.RINGBACK_THROTTLE_NAMESPACE = uuid.uuid4().hex[:12]  # the per-number daily budget too

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=headers, transport_kwargs=kwargs)

    Lifecycle.run(settings=hypothesis.settings(max_examples=40, stateful_step_count=8, phases=[Phase.generate], **HYPOTHESIS))


def test_subscribe_get_patch_rotate_deliveries_delete(token, settings):
    """Scenarios over the webhook operations, chained by the subscription's id. The receivers are on 127.0.0.1,
    which the tests allow (tests/conftest.py, local_webhooks); a generated public-looking URL is refused 400
    (`url_refused`) when its name does not resolve, an answer the document declares."""
    headers = {"Authorization": f"Bearer {token}"}

    class Webhooks(SCHEMA.include(path_regex="^/api/v1/webhooks").as_state_machine()):
        def setup(self):
            WebhookSubscription.objects.all().delete()
            IdempotencyRecord.objects.all().delete()

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=headers, transport_kwargs=kwargs)

    Webhooks.run(settings=hypothesis.settings(max_examples=30, stateful_step_count=6, phases=[Phase.generate], **HYPOTHESIS))
