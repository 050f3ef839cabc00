"""REST API v1 against its own OpenAPI document, with schemathesis: every operation fuzzed (valid and invalid
input), then create → get → reschedule → cancel chained through links. No answer may be a 5xx, and every answer's
status code and body must be one the document declares.

In-process over WSGI, so each request commits on its own connection: a transactional test on the file-based
SQLite test database (workspace.settings). Bounded and derandomized, so CI sees the same cases every run."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from callbacks.models import CallbackRequest, Effect, IdempotencyRecord

from .factories import make_api_client, make_queue, numbers

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA_PATH = "/api/v1/openapi.json"
CREATE = "POST /api/v1/callbacks"
CALLBACK = "/api/v1/callbacks/{reference}"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Numbers and a queue that exist, so that a good share of generated creates are accepted and feed the links.
PHONES = numbers(20)
COMMON = {
    "deadline": None,
    "derandomize": True,
    "database": None,  # no .hypothesis/ directory in the repository
    "suppress_health_check": list(HealthCheck),
}


def _op(schema_dict: dict, label: str) -> dict:
    method, path = label.split(" ", 1)
    return schema_dict["paths"][path][method.lower()]


def _link(operation_id: str, **extra: Any) -> dict:
    return {"operationId": operation_id, "parameters": {"reference": "$response.body#/reference"}, **extra}


def add_links(raw: dict) -> None:
    """ninja writes no links: chain create (201, or 200 for the client's open one) → get / position / reschedule /
    cancel, and get, position and reschedule onward, by the callback's `reference`."""
    ids = {
        "get": _op(raw, f"GET {CALLBACK}")["operationId"],
        "position": _op(raw, f"GET {CALLBACK}/position")["operationId"],
        "reschedule": _op(raw, f"POST {CALLBACK}/reschedule")["operationId"],
        "cancel": _op(raw, f"POST {CALLBACK}/cancel")["operationId"],
    }
    onward = {f"{name.title()}Callback": _link(operation_id) for name, operation_id in ids.items()}
    for label, status, names in (
        (CREATE, "201", ids),
        (CREATE, "200", ids),
        (f"GET {CALLBACK}", "200", ("position", "reschedule", "cancel")),
        (f"GET {CALLBACK}/position", "200", ("get", "reschedule", "cancel")),
        (f"POST {CALLBACK}/reschedule", "200", ("get", "position", "cancel")),
        (f"POST {CALLBACK}/cancel", "200", ("get", "position")),
    ):
        response = _op(raw, label)["responses"][status]
        response["links"] = {f"{name.title()}Callback": onward[f"{name.title()}Callback"] for name in names}


def load_schema():
    schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, get_wsgi_application(), config=schemathesis.Config())
    add_links(schema.raw_schema)

    @schema.hook("flatmap_body")
    def realistic_create(context, body):
        """Creates mostly name the real queue and a valid number; the rest stays as generated."""
        if context.operation is None or context.operation.label != CREATE or not isinstance(body, dict):
            return st.just(body)
        return st.tuples(st.booleans(), st.sampled_from(PHONES)).map(
            lambda drawn: {**body, "queue": "billing", "phone_number": drawn[1]} if drawn[0] else body
        )

    return schema


SCHEMA = load_schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture
def token():
    make_queue("billing")
    client, token = make_api_client("Schemathesis")
    client.requests_per_minute = 0  # no throttling: hundreds of requests in a few seconds
    client.save()
    return token


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation", OPERATIONS, ids=[o.label for o in OPERATIONS])
def test_operation_conforms(operation, mode, token):
    headers = {"Authorization": f"Bearer {token}"}

    @settings(max_examples=30, phases=[Phase.explicit, Phase.generate], **COMMON)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_create_get_reschedule_cancel(token):
    headers = {"Authorization": f"Bearer {token}"}

    class Lifecycle(SCHEMA.as_state_machine()):
        def setup(self):
            """Each scenario starts from the same state, or Hypothesis sees the same choices lead elsewhere."""
            CallbackRequest.objects.all().delete()
            IdempotencyRecord.objects.all().delete()
            Effect.objects.all().delete()
            django_settings.RINGBACK_THROTTLE_NAMESPACE = uuid.uuid4().hex[:12]

        def after_call(self, response, case):
            if response.status_code == 401:
                print("401", case.method, case.formatted_path, dict(response.request.headers))

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=headers, transport_kwargs=kwargs)

    Lifecycle.run(settings=settings(max_examples=25, stateful_step_count=6, phases=[Phase.generate], **COMMON))
