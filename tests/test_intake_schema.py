"""One input schema (#23): one definition of a callback request (`callbacks.intake_schema`), validated once, that every
front maps its own names onto — the REST API's body is it, `create_callback`'s options are generated from it, and
a refusal of its rules reads the same wherever it comes from."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from callbacks import intake_schema, lifecycle
from callbacks.api import api
from callbacks.api import callbacks as rest
from callbacks.errors import Invalid
from callbacks.management.commands import create_callback
from callbacks.models import CallbackRequest

from .factories import make_api_client


def test_the_rest_apis_body_is_the_one_definition():
    assert rest.CallbackIn is intake_schema.CallbackIn is lifecycle.CallbackInput
    document = api.get_openapi_schema()
    assert set(document["components"]["schemas"]["CallbackIn"]["properties"]) == set(intake_schema.FIELDS)


def test_every_field_of_the_request_is_an_option_of_create_callback():
    parser = create_callback.Command().create_parser("manage.py", "create_callback")
    options = {o for action in parser._actions for o in action.option_strings}
    missing = [f for f in intake_schema.FIELDS if f != "data" and f"--{create_callback.option(f)}" not in options]
    assert missing == [] and "--data" in options


@pytest.mark.django_db
def test_a_refusal_of_the_schema_names_its_field_on_every_front(client, queue):
    with pytest.raises(Invalid) as refused:
        lifecycle.callback_request(queue="billing", phone_number="+33612345678", priority=11)
    assert refused.value.field == "priority" and refused.value.status == 400
    assert "priority" in refused.value.message
    with pytest.raises(CommandError, match="priority"):
        call_command("create_callback", "--queue", "billing", "--phone", "+33612345678", "--priority", "11")
    _, token = make_api_client("IVR")
    r = client.post(
        "/api/v1/callbacks",
        {"queue": "billing", "phone_number": "+33612345678", "priority": 11},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert r.status_code == 422 and "priority" in r.content.decode()
    assert not CallbackRequest.objects.exists()
    call_command("create_callback", "--queue", "billing", "--phone", "+33612345678", "--max-attempts", "4", "--email", "a@b.fr")
    created = CallbackRequest.objects.get()
    assert (created.max_attempts, created.customer_email) == (4, "a@b.fr"), "options generated from the schema, used"


def test_a_field_added_in_one_place_is_taken_and_kept_by_every_front(tmp_path):
    """`tests/one_field.py` adds one line to the request's class and nothing else, then sends the field through the
    REST API, GMS, the customer's page and `create_callback`: each takes it under its own name, keeps it with the
    callback, and refuses a value the line's rules refuse (nothing stored)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("one_field.py")), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["api"] == {"status": 201, "stored": "GOLD-1"}
    assert seen["api_refused"]["status"] == 422 and "loyalty_card" in seen["api_refused"]["body"]
    assert seen["openapi"]["title"] == "Loyalty card number" and seen["openapi"]["maxLength"] == 12
    assert seen["gms"] == {"status": 200, "stored": "GOLD-3"}
    assert seen["gms_record"] == "GOLD-3"  # given back under the name GMS sent it by
    assert seen["gms_refused"]["status"] == 400 and "Loyalty card number" in seen["gms_refused"]["body"]
    assert seen["page_asks"] is True
    assert seen["page"] == {"status": 302, "stored": "GOLD-5"}
    assert seen["page_refused"] == {"status": 400, "message": True, "stored": None}
    assert seen["command"] == {"stored": "GOLD-7"}
    assert seen["desk_row"] is True  # a preview field configured on the key shows it to the agent
    # The voice menu asks for it by its title after the number, and books through the same definition.
    assert seen["ivr"] == {
        "asked": ["key_in", "name:Loyalty card number", "then_hash"],
        "said": ["booked"],
        "stored": "123456",
    }
    assert seen["ivr_refused"] == {"said": ["invalid_value", "key_in", "name:Loyalty card number", "then_hash"], "stored": None}
