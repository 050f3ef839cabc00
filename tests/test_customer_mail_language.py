"""The customer's e-mails speak the customer's language: the language of the page they booked on (the visitor's choice),
or the REST API's optional `language` (validated: another language is a 400, in English like every API refusal).
The confirmation and the reminder (subject, body and dates) are written in it; without one, in the centre's own."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail

from callbacks import roles
from callbacks.dispatcher import sweep_once
from callbacks.models import CallbackRequest

from .factories import PASSWORD, make_api_client, make_calendar, worker

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)  # a Tuesday


@pytest.fixture
def office(queue):
    queue.calendar = make_calendar(hours={d: [("08:00", "20:00")] for d in range(7)}, slot_minutes=30, capacity=2)
    queue.save()
    return queue


def booking(slot: datetime, **kw) -> dict:
    return {
        "when": "slot",
        "slot": slot.astimezone(UTC).isoformat(),
        "phone": "+33 6 12 34 56 78",
        "name": "Nina Rossi",
        "email": "nina@example.com",
        "tz": "Europe/Paris",
        "website": "",
        **kw,
    }


def api_create(client, token: str, **body):
    body = {"queue": "billing", "phone_number": "+34612345678", "customer_timezone": "Europe/Paris", **body}
    return client.post(
        "/api/v1/callbacks", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def remind(slot: datetime) -> list:
    """Run the clock and the worker 50 minutes before `slot`: the reminders sent."""
    with time_machine.travel(slot - timedelta(minutes=50), tick=False):
        sweep_once()
        worker()
    return [m for m in mail.outbox if "CB-" in m.subject and m.subject != mail.outbox[0].subject]


@time_machine.travel(NOW, tick=True)
def test_a_french_visitors_booking_is_confirmed_in_french(client, office):
    client.post("/i18n/setlang/", {"language": "fr", "next": "/request/billing/"})  # the visitor's choice
    slot = datetime(2026, 12, 2, 10, tzinfo=PARIS)
    assert client.post("/request/billing/", booking(slot)).status_code == 302
    callback = CallbackRequest.objects.get()
    assert callback.language == "fr"
    worker()
    [confirmation] = mail.outbox
    assert confirmation.subject == f"Votre demande de rappel {callback.reference}"
    assert confirmation.body.startswith("Bonjour Nina Rossi,\n\nNous avons bien reçu votre demande")
    assert "nous vous appellerons au +33612345678 le mercredi 2 décembre à 10:00 (Europe/Paris)." in confirmation.body
    assert "Pour la consulter, changer l'heure ou l'annuler : http" in confirmation.body


@time_machine.travel(NOW, tick=True)
def test_an_english_visitors_booking_is_confirmed_in_english(client, office):
    slot = datetime(2026, 12, 2, 10, tzinfo=PARIS)
    client.post("/request/billing/", booking(slot), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8")
    callback = CallbackRequest.objects.get()
    assert callback.language == "en"
    worker()
    [confirmation] = mail.outbox
    assert confirmation.subject == f"Your callback request {callback.reference}"
    assert "we will call +33612345678 on Wednesday 2 December, 10:00 (Europe/Paris)." in confirmation.body


@time_machine.travel(NOW, tick=True)
def test_a_spanish_api_requests_reminder_is_in_spanish(client, office):
    _, token = make_api_client("Website")
    slot = datetime(2026, 12, 1, 12, tzinfo=PARIS)
    response = api_create(client, token, type="scheduled", desired_time=slot.isoformat(), email="ana@example.com", language="es")
    assert response.status_code == 201 and response.json()["language"] == "es"
    worker()
    reference = response.json()["reference"]
    assert mail.outbox[0].subject == f"Su solicitud de llamada {reference}"
    [reminder] = remind(slot)
    assert reminder.to == ["ana@example.com"]
    assert reminder.subject == f"Le llamamos a las 12:00 ({reference})"
    assert "Le recordamos que le llamaremos al +34612345678 el martes 1 de diciembre, 12:00 (Europe/Paris)." in reminder.body
    assert "Para cambiar la hora o cancelarla: http" in reminder.body


@time_machine.travel(NOW, tick=True)
def test_an_api_request_without_a_language_is_written_in_the_centres(client, office):
    _, token = make_api_client("IVR")
    slot = datetime(2026, 12, 1, 12, tzinfo=PARIS)
    response = api_create(client, token, type="scheduled", desired_time=slot.isoformat(), email="ana@example.com")
    assert response.status_code == 201 and response.json()["language"] == ""
    worker()
    [reminder] = remind(slot)
    assert reminder.subject.startswith("We call you at 12:00")
    assert "on Tuesday 1 December, 12:00 (Europe/Paris)" in reminder.body


def test_a_regional_variant_is_stored_as_its_language(client, queue):
    _, token = make_api_client("IVR")
    assert api_create(client, token, language="fr-CA").json()["language"] == "fr"


def test_an_unknown_language_is_a_400_in_english(client, queue):
    _, token = make_api_client("IVR")
    response = api_create(client, token, language="de", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Unknown language “de”; use one of en, fr, es.",
        "code": "invalid",
        "field": "language",
    }
    assert not CallbackRequest.objects.exists()


def test_the_openapi_document_describes_the_language(client):
    schema = client.get("/api/v1/openapi.json").json()
    create = schema["components"]["schemas"]["CallbackIn"]["properties"]
    assert "en, fr or es" in create["language"]["description"] and "email" in create


def test_the_supervisor_sees_the_customers_language(client, queue):
    roles.ensure_roles()
    user = get_user_model().objects.create_user("sam", "sam@example.com", PASSWORD)
    user.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    queue.supervisors.add(user)
    client.force_login(user)
    spanish = CallbackRequest.objects.create(queue=queue, phone_number="+34612345678", language="es")
    page = client.get(f"/board/callbacks/{spanish.pk}/").content.decode()
    assert 'Customer\'s language</dt><dd data-testid="language">Español</dd>' in page
    unknown = CallbackRequest.objects.create(queue=queue, phone_number="+34612345679")
    page = client.get(f"/board/callbacks/{unknown.pk}/").content.decode()
    assert '<dd data-testid="language">The centre\'s own</dd>' in page
