"""One field added in one place, seen on every front: run alone, in a process of its own.

    python tests/one_field.py VAR_DIR

It adds one line to the callback request's definition (`callbacks/intake_schema.py`, read from its source and
changed before anything imports it), and nothing else: no model, no migration, no front. Then, on an empty SQLite
database in VAR_DIR, it sends the field through every front a customer or an integrator uses, and prints as JSON
what each front answered and what the stored callback holds. `tests/test_intake_schema.py` runs it and reads that.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIELD = "loyalty_card"
LINE = (
    f'    {FIELD}: str = Field("", max_length=12, title="Loyalty card number", '
    'description="The customer\'s loyalty card", json_schema_extra={"public": True, "keypad": True})\n'
)


def add_the_field() -> None:
    """The one change: a line in the request's class, before any module reads the class."""
    path = ROOT / "callbacks" / "intake_schema.py"
    anchor = "class CallbackIn(BaseModel):\n"
    source = path.read_text()
    assert anchor in source, "the request's class moved: update this probe"
    spec = importlib.util.spec_from_file_location("callbacks.intake_schema", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["callbacks.intake_schema"] = module
    exec(compile(source.replace(anchor, anchor + LINE, 1), str(path), "exec"), module.__dict__)  # noqa: S102


def main(var_dir: str) -> dict:
    os.environ["RINGBACK_VAR_DIR"] = var_dir
    os.environ["ALLOWED_HOSTS"] = "testserver"  # Django's test client
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workspace.settings")
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))
    import django

    add_the_field()  # before Django loads the apps, which import the request's definition
    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from callbacks.models import ApiClient, CallbackRequest, Queue

    call_command("migrate", verbosity=0)
    Queue.objects.create(name="Billing", slug="billing", gms_service="billing-cb")
    client = ApiClient(name="Probe", requests_per_minute=0)
    token = client.issue_token()
    client.save()
    http = Client()
    seen: dict = {}

    def stored(number: str):
        callback = CallbackRequest.objects.filter(phone_number=number).first()
        return None if callback is None else callback.data.get(FIELD)

    # The REST API: its body is the definition.
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = {"queue": "billing", "phone_number": "+33612340001", FIELD: "GOLD-1"}
    answer = http.post("/api/v1/callbacks", json.dumps(body), content_type="application/json", **bearer)
    seen["api"] = {"status": answer.status_code, "stored": stored("+33612340001")}
    body = {"queue": "billing", "phone_number": "+33612340002", FIELD: "X" * 13}
    answer = http.post("/api/v1/callbacks", json.dumps(body), content_type="application/json", **bearer)
    seen["api_refused"] = {"status": answer.status_code, "body": answer.content.decode()[:2000]}
    schema = http.get("/api/v1/openapi.json").json()["components"]["schemas"]["CallbackIn"]["properties"]
    seen["openapi"] = schema.get(FIELD)
    # GMS: its own names, `_<field>`.
    basic = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"probe:{token}".encode()).decode()}
    form = {"_customer_number": "+33612340003", f"_{FIELD}": "GOLD-3"}
    answer = http.post("/genesys/1/service/callback/billing-cb", json.dumps(form), content_type="application/json", **basic)
    seen["gms"] = {"status": answer.status_code, "stored": stored("+33612340003")}
    reference = CallbackRequest.objects.get(phone_number="+33612340003").reference
    record = http.get(f"/genesys/1/service/callback?_id={reference}", **basic).json()
    seen["gms_record"] = record[0].get(f"_{FIELD}") if record else None
    form = {"_customer_number": "+33612340004", f"_{FIELD}": "X" * 13}
    answer = http.post("/genesys/1/service/callback/billing-cb", json.dumps(form), content_type="application/json", **basic)
    seen["gms_refused"] = {"status": answer.status_code, "body": answer.content.decode()[:2000]}
    # The customer's page: a field marked public is asked for, with its title.
    page = http.get("/request/billing/").content.decode()
    seen["page_asks"] = f'name="{FIELD}"' in page and "Loyalty card number" in page
    form = {"when": "now", "phone": "+33612340005", "name": "Ana Lima", FIELD: "GOLD-5", "tz": "Europe/Paris"}
    answer = http.post("/request/billing/", form)
    seen["page"] = {"status": answer.status_code, "stored": stored("+33612340005")}
    form = {**form, "phone": "+33612340006", FIELD: "X" * 13}
    answer = http.post("/request/billing/", form)
    said = "Loyalty card number: String should have at most 12 characters" in answer.content.decode()
    seen["page_refused"] = {"status": answer.status_code, "message": said, "stored": stored("+33612340006")}
    # manage.py create_callback: an option named after the field.
    out = io.StringIO()
    call_command(
        "create_callback", "--queue", "billing", "--phone", "+33612340007", f"--{FIELD.replace('_', '-')}", "GOLD-7", stdout=out
    )
    seen["command"] = {"stored": stored("+33612340007")}
    # The voice menu: a field marked keypad is asked after the number is confirmed, keyed as digits then #, and the
    # application books through the same definition (a value it refuses is asked again).
    from callbacks.models import EntryNumber, VoiceSession
    from callbacks.telephony.sip import proxy_token
    from callbacks.voice.app import Caller, VoiceApp
    from callbacks.voice.menu import Menu

    EntryNumber.objects.create(queue=Queue.objects.get(slug="billing"), number="+33184880010")
    app = VoiceApp(Path(var_dir) / "voice")

    def call(caller: str, call_id: str, keys: str) -> list:
        """A call kamailio sends to the menu (its question, then the menu as the application builds it), the keys."""
        kamailio = {"HTTP_AUTHORIZATION": f"Bearer {proxy_token()}", "REMOTE_ADDR": "127.0.0.1"}
        http.post("/sip/entry", f"+33184880010|{caller}|{call_id}", content_type="text/plain", **kamailio)
        session = VoiceSession.objects.select_related("queue").get(call_id=call_id)
        line = Caller(session.line, "", session.pk, call_id, "en", 6.0)
        menu = Menu(
            app.facts(session),
            book=lambda number, when, fields: app.book(line, number, when, fields),
            cancel=lambda: None,
            settle=lambda outcome: None,
        )
        said = [menu.start().parts]
        for key in keys:
            answer = menu.key(key)
            if answer is not None:
                said.append(answer.parts)
        return said

    said = call("+33612340008", "probe-1", "11" + "123456#")
    seen["ivr"] = {"asked": said[-2], "said": said[-1], "stored": stored("+33612340008")}
    said = call("+33612340009", "probe-2", "11" + "1234567890123#")
    seen["ivr_refused"] = {"said": said[-1], "stored": stored("+33612340009")}
    # The desk: an admin configures a preview field on the key, as for any attached data.
    from callbacks.models import PreviewField
    from callbacks.presenters.fields import callback_view

    field = PreviewField.objects.create(key=FIELD, label="Loyalty card", section="callback_info")
    view = callback_view(CallbackRequest.objects.get(phone_number="+33612340001"), "Europe/Paris", [field])
    seen["desk_row"] = any(row.label == "Loyalty card" and row.value == "GOLD-1" for row in view.fields["callback_info"])
    return seen


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
