"""The customer's own pages: request a callback (now or a free slot, in their zone), the confirmation, the signed
link that moves or cancels it, abuse protection, and the e-mails and webhooks that follow."""

import hashlib
import hmac
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client, override_settings
from django.utils import timezone

from callbacks import links
from callbacks.dispatcher import sweep_once
from callbacks.enums import CallbackState, EffectKind, EffectStatus
from callbacks.models import WEBHOOK_EVENTS, CallbackRequest, Effect, WebhookSubscription

from .factories import make_api_client, make_calendar, worker

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def office(queue):
    queue.calendar = make_calendar(hours={d: [("08:00", "20:00")] for d in range(7)}, slot_minutes=30, capacity=2)
    queue.save()
    return queue


def form(**kw):
    return {
        "when": "now",
        "phone": "+33 6 12 34 56 78",
        "name": "Nina Rossi",
        "email": "",
        "reason": "",
        "tz": "Europe/Paris",
        "website": "",
        **kw,
    }


def token_in(response) -> str:
    return re.search(r"/request/done/([^/]+)/", response["Location"]).group(1)


@time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=UTC), tick=True)
def test_the_form_shows_free_slots_in_the_visitors_zone(client, office):
    html = client.get("/request/billing/?tz=America/New_York").content.decode()
    assert "Request a callback" in html and "Times are in America/New_York" in html
    eight_paris = datetime(2026, 12, 2, 8, tzinfo=PARIS)
    assert f'value="{eight_paris.astimezone(UTC).isoformat()}"' in html
    assert "Wed 02:00" in html  # 08:00 Paris, in New York
    assert client.get("/request/nope/").status_code == 404


@time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=UTC), tick=True)
def test_booking_a_slot_confirms_with_a_reference_and_a_signed_link(client, office):
    slot = datetime(2026, 12, 2, 10, tzinfo=PARIS).astimezone(UTC).isoformat()
    response = client.post("/request/billing/", form(when="slot", slot=slot, email="nina@example.com", reason="My bill"))
    assert response.status_code == 302
    token = token_in(response)
    callback = CallbackRequest.objects.get()
    assert links.reference_from(token) == callback.reference
    assert callback.state == CallbackState.SCHEDULED and callback.desired_time == datetime(2026, 12, 2, 10, tzinfo=PARIS)
    assert (callback.origin, callback.data, callback.customer_timezone) == ("web", {"reason": "My bill"}, "Europe/Paris")
    done = client.get(response["Location"]).content.decode()
    assert callback.reference in done and "Wednesday 2 December, 10:00" in done and f"/my/{token}/" in done
    worker()
    assert mail.outbox[-1].to == ["nina@example.com"] and callback.reference in mail.outbox[-1].subject
    assert f"/my/{token}/" in mail.outbox[-1].body


@time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=UTC), tick=True)
def test_the_signed_link_moves_and_cancels(client, office):
    first = datetime(2026, 12, 2, 10, tzinfo=PARIS).astimezone(UTC)
    token = token_in(client.post("/request/billing/", form(when="slot", slot=first.isoformat())))
    page = client.get(f"/my/{token}/").content.decode()
    assert "Booked" in page and "Cancel my request" in page
    later = first + timedelta(hours=2)
    moved = client.post(f"/my/{token}/move/", {"slot": later.isoformat()})
    assert moved.status_code == 302 and "done=moved" in moved["Location"]
    assert CallbackRequest.objects.get().desired_time == later
    cancelled = client.post(f"/my/{token}/cancel/")
    assert cancelled.status_code == 302
    callback = CallbackRequest.objects.get()
    assert callback.state == CallbackState.CANCELLED
    assert "Cancelled" in client.get(f"/my/{token}/").content.decode()
    assert client.post(f"/my/{token}/cancel/").status_code == 409


def test_a_forged_or_expired_link_is_404(client, queue):
    assert client.get("/my/CB-AAAAAAAA/").status_code == 404
    forged = signing.dumps("CB-AAAAAAAA", salt="other")
    assert client.get(f"/my/{forged}/").status_code == 404
    token = links.manage_token("CB-AAAAAAAA")
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert client.get(f"/my/{token}/").status_code == 404


def test_the_honeypot_and_bad_input_are_refused_and_write_nothing(client, queue):
    assert client.post("/request/billing/", form(website="http://spam")).status_code == 400
    assert client.post("/request/billing/", form(phone="not a phone")).status_code == 400
    assert client.post("/request/billing/", form(when="slot", slot="")).status_code == 400
    assert client.post("/request/billing/", form(email="nope")).status_code == 400
    assert not CallbackRequest.objects.exists()


@override_settings(RINGBACK_PUBLIC_FORM_PER_HOUR=2)
def test_one_address_is_throttled(client, queue):
    for i in range(2):
        assert client.post("/request/billing/", form(phone=f"+3361234500{i}")).status_code == 302
    response = client.post("/request/billing/", form(phone="+33612345009"))
    assert response.status_code == 429 and "try again" in response.content.decode()


def test_csrf_is_enforced(queue):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/request/billing/", form()).status_code == 403


def test_a_second_request_for_the_same_number_reveals_nothing(client, queue):
    client.post("/request/billing/", form())
    reference = CallbackRequest.objects.get().reference
    again = client.post("/request/billing/", form())
    assert again.status_code == 409 and reference not in again.content.decode()


@time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=UTC), tick=True)
def test_the_customer_is_reminded_before_a_scheduled_callback(client, office):
    slot = datetime(2026, 12, 1, 12, tzinfo=PARIS).astimezone(UTC)
    client.post("/request/billing/", form(when="slot", slot=slot.isoformat(), email="nina@example.com"))
    worker()
    sent = len(mail.outbox)
    sweep_once()
    worker()
    assert len(mail.outbox) == sent  # two hours ahead: not yet
    with time_machine.travel(slot - timedelta(minutes=50), tick=False):
        sweep_once()
        worker()
        sweep_once()
        worker()
    reminders = [m for m in mail.outbox if m.subject.startswith("We call you at")]
    assert len(reminders) == 1 and "12:00" in reminders[0].subject


# --- Webhooks ----------------------------------------------------------------------------------------------------------


class Receiver(BaseHTTPRequestHandler):
    calls: list = []
    fail_first = 0

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if Receiver.fail_first > 0:
            Receiver.fail_first -= 1
            self.send_response(500)
        else:
            Receiver.calls.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.calls, Receiver.fail_first = [], 0
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_every_state_change_calls_the_clients_webhook_signed_and_retried(client, queue, receiver):
    api_client, token = make_api_client("Website")
    subscription = WebhookSubscription.objects.create(api_client=api_client, url=receiver, events=list(WEBHOOK_EVENTS))
    Receiver.fail_first = 1
    body = {"queue": "billing", "phone_number": "+33612345678"}
    reference = client.post(
        "/api/v1/callbacks", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    ).json()["reference"]
    client.post(
        f"/api/v1/callbacks/{reference}/cancel", "", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    sweep_once()
    worker()
    hooks = Effect.objects.filter(kind=EffectKind.WEBHOOK).order_by("id")
    assert hooks.count() == 2
    first = hooks[0]
    assert first.status == EffectStatus.PENDING and first.attempts == 1 and "500" in first.last_error  # retried later
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        worker()
    assert set(Effect.objects.filter(kind=EffectKind.WEBHOOK).values_list("status", flat=True)) == {EffectStatus.DONE}
    events = [json.loads(b) for _, b in Receiver.calls]
    assert sorted(e["state"] for e in events) == ["cancelled", "queued"]
    headers, raw = Receiver.calls[0]
    stamp, signature = (part.split("=", 1)[1] for part in headers["X-Ringback-Signature"].split(","))
    expected = hmac.new(subscription.secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    assert signature == expected
    assert headers["X-Ringback-Delivery"].startswith("webhook:")
    sweep_once()  # nothing new: nothing queued twice
    assert Effect.objects.filter(kind=EffectKind.WEBHOOK).count() == 2
