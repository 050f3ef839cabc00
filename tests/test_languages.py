"""Languages: the customer's page, the login page and the supervisor's pages in English, French and Spanish.

A page follows the browser (Accept-Language) until the visitor picks a language in the switch (Django's set_language,
a real form with its CSRF token); dates and numbers follow the language; <html lang> says which it is. The APIs stay
in English whatever a client's Accept-Language says. A signed-in agent's own language (`Agent.language`, once the
field exists) wins over the browser's."""

import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import translation

from callbacks import roles
from callbacks.consumers import BoardConsumer
from callbacks.languages import agent_language
from callbacks.models import Agent, CallbackRequest

from .factories import PASSWORD, make_api_client, make_calendar, make_callback, set_ready

pytestmark = pytest.mark.django_db(transaction=True)
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)  # a Tuesday
FR = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9,en;q=0.5"}
ES = {"HTTP_ACCEPT_LANGUAGE": "es-ES,es;q=0.9"}
BROWSERS = {"fr": FR, "es": ES, "en": {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.8"}}


@pytest.fixture
def office(queue):
    queue.calendar = make_calendar(hours={d: [("08:00", "20:00")] for d in range(7)}, slot_minutes=30, capacity=2)
    queue.save()
    return queue


@pytest.fixture
def sam(queue):
    roles.ensure_roles()
    user = get_user_model().objects.create_user("sam", "sam@example.com", PASSWORD, first_name="Sam")
    user.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    queue.supervisors.add(user)
    return user


def lang_of(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def booking(slot: str, **kw) -> dict:
    return {"when": "slot", "slot": slot, "phone": "+33 6 12 34 56 78", "name": "Nina Rossi", "tz": "Europe/Paris", **kw}


# --- The customer's page ----------------------------------------------------------------------------------------------

REQUEST_PAGE = {
    "en": ("Request a callback", "As soon as possible", "Wednesday 2 December"),
    "fr": ("Demander à être rappelé", "Dès que possible", "mercredi 2 décembre"),
    "es": ("Solicitar una llamada", "Lo antes posible", "miércoles 2 de diciembre"),
}


@pytest.mark.parametrize("language", ["en", "fr", "es"])
@time_machine.travel(NOW, tick=True)
def test_the_customers_page_follows_the_browsers_language(client, office, language):
    response = client.get("/request/billing/?tz=Europe/Paris", **BROWSERS[language])
    html = response.content.decode()
    heading, now_choice, day = REQUEST_PAGE[language]
    assert lang_of(html) == language and response["Content-Language"] == language
    assert f"<h1>{heading}</h1>" in html and now_choice in html
    assert f'<optgroup label="{day}">' in html  # the free times' days, in the visitor's language
    assert 'action="/i18n/setlang/"' in html and f'<option value="{language}" lang="{language}" selected>' in html


DONE_PAGE = {
    "fr": ("Merci, nous allons vous appeler", "mercredi 2 décembre à 10:00"),
    "es": ("Gracias, le llamaremos", "miércoles 2 de diciembre, 10:00"),
}


@pytest.mark.parametrize("language", ["fr", "es"])
@time_machine.travel(NOW, tick=True)
def test_the_confirmation_gives_the_time_in_the_customers_language(client, office, language):
    slot = datetime(2026, 12, 2, 10, tzinfo=PARIS).astimezone(UTC).isoformat()
    response = client.post("/request/billing/", booking(slot), **BROWSERS[language])
    assert response.status_code == 302
    html = client.get(response["Location"], **BROWSERS[language]).content.decode()
    heading, when = DONE_PAGE[language]
    assert lang_of(html) == language and heading in html
    assert f'<strong data-testid="when">{when}</strong>' in html


MANAGE_PAGE = {
    "fr": ("Votre rappel", "Réservé", "jeudi 3 décembre à 11:30", "Votre nouvel horaire est réservé.", "Annuler ma demande"),
    "es": ("Su llamada", "Reservada", "jueves 3 de diciembre, 11:30", "Su nueva hora está reservada.", "Cancelar mi solicitud"),
}


@pytest.mark.parametrize("language", ["fr", "es"])
@time_machine.travel(NOW, tick=True)
def test_the_signed_link_moves_a_callback_in_the_customers_language(client, office, language):
    slot = datetime(2026, 12, 2, 10, tzinfo=PARIS).astimezone(UTC).isoformat()
    done = client.post("/request/billing/", booking(slot), **BROWSERS[language])["Location"]
    token = re.search(r"/request/done/([^/]+)/", done).group(1)
    later = datetime(2026, 12, 3, 11, 30, tzinfo=PARIS).astimezone(UTC).isoformat()
    moved = client.post(f"/my/{token}/move/", {"slot": later}, **BROWSERS[language])
    html = client.get(moved["Location"], **BROWSERS[language]).content.decode()
    title, state, when, notice, cancel = MANAGE_PAGE[language]
    assert lang_of(html) == language and f"<h1>{title}</h1>" in html
    assert f'<p class="standing-state" data-testid="state">{state}</p>' in html and when in html
    assert f'<p class="notice" role="status">{notice}</p>' in html and cancel in html


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "«\u00a012\u00a0» n&#x27;est pas un numéro de téléphone valide"),
        ("es", "«12» no es un número de teléfono válido"),
    ],
)
@time_machine.travel(NOW, tick=True)
def test_a_refusal_on_the_customers_page_is_in_their_language(client, office, language, message):
    response = client.post("/request/billing/", {**booking(""), "when": "now", "phone": "12"}, **BROWSERS[language])
    assert response.status_code == 400 and message in response.content.decode()
    assert not CallbackRequest.objects.exists()


@time_machine.travel(NOW, tick=True)
def test_the_switch_sets_the_language_through_a_form_with_its_csrf_token(office):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/request/billing/?tz=Europe/Paris", **FR)
    assert lang_of(page.content.decode()) == "fr"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    refused = browser.post("/i18n/setlang/", {"language": "es", "next": "/request/billing/?tz=Europe/Paris"}, **FR)
    assert refused.status_code == 403  # no token: refused
    chosen = browser.post(
        "/i18n/setlang/",
        {"language": "es", "next": "/request/billing/?tz=Europe/Paris", "csrfmiddlewaretoken": token},
        **FR,
    )
    assert chosen.status_code == 302 and chosen["Location"] == "/request/billing/?tz=Europe/Paris"
    again = browser.get(chosen["Location"], **FR).content.decode()  # the browser still prefers French
    assert lang_of(again) == "es" and "<h1>Solicitar una llamada</h1>" in again
    # The page's policy allows no inline script: the switch is a plain form with a button.
    assert "<script>" not in again and "onchange" not in again


# --- The APIs stay in English -----------------------------------------------------------------------------------------


def test_the_api_answers_in_english_whatever_the_client_asks(client, queue):
    _, token = make_api_client()
    response = client.post(
        "/api/v1/callbacks",
        data=json.dumps({"queue": "billing", "phone_number": "12"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **FR,
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("“12” is not a valid phone number")
    assert "Content-Language" not in response and "Accept-Language" not in response.get("Vary", "")


def test_the_gms_api_answers_in_english_too(client, queue):
    response = client.post(
        "/genesys/1/service/callback/nowhere", data=json.dumps({"_customer_number": "111"}), content_type="application/json", **ES
    )
    assert response.status_code == 404 and response.json()["message"] == "Service nowhere is not configured."
    assert "Content-Language" not in response


# --- Login ------------------------------------------------------------------------------------------------------------

LOGIN = {
    "fr": ("Se connecter", "Nom d'utilisateur", "ne correspondent pas"),
    "es": ("Iniciar sesión", "Nombre de usuario", "no coinciden"),
}


@pytest.mark.parametrize("language", ["fr", "es"])
def test_the_login_page_follows_the_browser_and_says_a_wrong_password_in_its_language(client, alice, language):
    html = client.get("/login/", **BROWSERS[language]).content.decode()
    button, username, mismatch = LOGIN[language]
    assert lang_of(html) == language and button in html and username in html
    assert 'action="/i18n/setlang/"' in html
    wrong = client.post("/login/", {"username": "alice", "password": "wrong-password"}, **BROWSERS[language])
    assert mismatch in wrong.content.decode()


# --- The supervisor's pages -------------------------------------------------------------------------------------------

BOARD = {
    "fr": ("Tableau en direct", "En attente", "Niveau de service", "Prêt", "Voix"),
    "es": ("Panel en directo", "En espera", "Nivel de servicio", "Listo", "Voz"),
}


@pytest.mark.parametrize("language", ["fr", "es"])
def test_the_live_board_in_french_and_spanish(client, queue, alice, sam, language):
    set_ready(alice)
    client.force_login(sam)
    html = client.get("/board/", **BROWSERS[language]).content.decode()
    title, waiting, service_level, ready, voice = BOARD[language]
    assert lang_of(html) == language and f"<title>{title} · Ringback</title>" in html
    assert f"<dt>{waiting}</dt>" in html and service_level in html
    assert f'<span class="chip-ch">{voice}</span> <span class="pill">{ready}</span>' in html
    words = json.loads(re.search(r'<script id="board-data" type="application/json">(.*?)</script>', html).group(1))["words"]
    assert words["callbacks"] == {"fr": "rappels", "es": "devoluciones"}[language]


WORKLIST = {
    "fr": ("Rappels ouverts", "Planifié", "mer 2 déc. 10:00", "mer 2 déc. 2026 10:00", "Piste d'audit"),
    "es": (
        "Devoluciones de llamada abiertas",
        "Programada",
        "mié 2 dic. 10:00",
        "mié 2 dic. 2026 10:00",
        "Registro de auditoría",
    ),
}


@pytest.mark.parametrize("language", ["fr", "es"])
@time_machine.travel(NOW, tick=True)
def test_the_work_list_and_a_callbacks_trail_show_dates_in_the_supervisors_language(client, office, sam, language):
    callback = make_callback(office, type="scheduled", desired_time=datetime(2026, 12, 2, 10, tzinfo=PARIS))
    client.force_login(sam)
    heading, state, due, due_long, trail = WORKLIST[language]
    listing = client.get("/board/callbacks/", **BROWSERS[language]).content.decode()
    assert lang_of(listing) == language and heading in listing and f">{state}</span>" in listing and due in listing
    detail = client.get(f"/board/callbacks/{callback.pk}/", **BROWSERS[language]).content.decode()
    assert f'<dd data-testid="due">{due_long}</dd>' in detail and trail in detail


def test_the_switch_works_for_a_supervisor_too(client, queue, sam):
    client.force_login(sam)
    chosen = client.post("/i18n/setlang/", {"language": "fr", "next": "/reports/"})
    assert chosen.status_code == 302
    html = client.get(chosen["Location"]).content.decode()  # no Accept-Language: the switch's choice alone
    assert lang_of(html) == "fr" and '<h1 class="page-title">Rapports</h1>' in html


@pytest.mark.parametrize(("language", "shown"), [("en", "1,234"), ("fr", "1\u00a0234"), ("es", "1\u00a0234")])
def test_report_counts_are_grouped_as_the_language_writes_numbers(queue, sam, language, shown):
    request = RequestFactory().get("/reports/")
    request.user = sam
    context = {
        "summary": {"outcomes": ["Done"], "by_queue": [("Billing", [1234], 1234)], "by_disposition": []},
        "activity": [],
        "queues": [],
        "agents": [],
        "start": NOW,
        "end": NOW,
        "last_day": NOW,
    }
    with translation.override(language):
        html = render_to_string("supervisor/reports.html", context, request=request)
    assert f"<td>{shown}</td><td>{shown}</td>" in html


@pytest.mark.parametrize(("language", "waiting"), [("fr", "En attente"), ("es", "En espera")])
async def test_the_boards_live_updates_come_in_the_pages_language(queue, sam, language, waiting):
    header = BROWSERS[language]["HTTP_ACCEPT_LANGUAGE"].encode()
    comm = WebsocketCommunicator(
        BoardConsumer.as_asgi(), "/ws/board/", headers=[(b"origin", b"http://127.0.0.1:8000"), (b"accept-language", header)]
    )
    comm.scope["user"] = sam
    assert (await comm.connect(timeout=10))[0]
    await comm.send_to(text_data="hello")
    html = await comm.receive_from(timeout=5)
    assert 'id="figures"' in html and f"<dt>{waiting}</dt>" in html
    await comm.disconnect()


# --- The contact directory and the hook for the agent's own language ---------------------------------------------------


def test_the_contact_directory_follows_the_browser(client, alice):
    client.force_login(alice.user)
    html = client.get("/contacts/", **ES).content.decode()
    assert lang_of(html) == "es" and "<h1>Directorio de contactos</h1>" in html and "Nuevo contacto" in html


def test_an_agents_own_language_wins_over_the_browsers(client, alice):
    assert agent_language(alice.user) == ""  # none chosen: the browser decides
    Agent.objects.filter(pk=alice.pk).update(language="es")
    alice.refresh_from_db()
    assert agent_language(alice.user) == "es"
    client.force_login(alice.user)
    html = client.get("/contacts/", **FR).content.decode()
    assert lang_of(html) == "es" and "<h1>Directorio de contactos</h1>" in html
    Agent.objects.filter(pk=alice.pk).update(language="")  # empty: the browser's language again
    assert lang_of(client.get("/contacts/", **FR).content.decode()) == "fr"


def test_an_unknown_agent_language_is_ignored(alice):
    alice.user.agent.language = "xx"  # not one of Ringback's (the field's choices refuse it; an old row could hold one)
    assert agent_language(alice.user) == ""
    assert agent_language(None) == ""
