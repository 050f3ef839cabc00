"""The agent's workspace in French and Spanish: the page, the regions pushed over the websocket, the refusals, and the
dates and numbers in an interaction window, in the agent's language (their own choice, else their browser's). What is
stored (history rows) stays English, and so do the machine endpoints."""

import re
from datetime import UTC, date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from callbacks.enums import CallbackType, FieldFormat, PreviewSection
from callbacks.models import Agent, HistoryEvent, Offer, PreviewField
from callbacks.presenters.fields import format_value
from callbacks.views.render import render_regions

from .factories import make_callback, set_ready

HTMX = {"HTTP_HX_REQUEST": "true"}

# What the agent reads, per language: the seed's button names as Genesys' French and Spanish desktops say them.
DESK = {
    "fr": [">Prêt<", ">Non prêt<", ">Travail après appel<", "Raccourcis clavier", ">Se déconnecter<", "Team Communicator"],
    "es": [">Listo<", ">No listo<", ">Trabajo tras llamada<", "Atajos de teclado", ">Cerrar sesión<"],
}
WINDOW = {
    "fr": [
        ">Appeler<",
        ">Marquer comme terminé<",
        "Informations du rappel",
        ">Qualifications<",
        ">Ajouter une note<",
        "Prêt à appeler",
        "tentative 1 sur 3",
        "Dès que possible",
    ],
    "es": [
        ">Llamar<",
        ">Marcar como terminado<",
        "Información de la devolución de llamada",
        ">Tipificaciones<",
        ">Añadir nota<",
        "Lista para llamar",
        "intento 1 de 3",
        "Lo antes posible",
    ],
}
ENGLISH = [">Call<", ">Mark Done<", "Callback Information", ">Dispositions<", ">Add Note<", "Ready to Call"]


def speaking(agent: Agent, language: str) -> Agent:
    Agent.objects.filter(pk=agent.pk).update(language=language)
    agent.refresh_from_db()
    return agent


def accepted(client, agent, queue, **kw):
    set_ready(agent)
    callback = make_callback(queue, customer_name="Camille Laurent", max_attempts=3, **kw)
    offer = Offer.objects.get(callback=callback)
    assert client.post(reverse("accept_offer", args=[offer.pk]), **HTMX).status_code == 204
    return callback


@pytest.mark.parametrize("language", ["fr", "es"])
def test_the_workspace_page_is_in_the_agents_language(client, alice, language):
    speaking(alice, language)
    client.force_login(alice.user)
    html = client.get("/").content.decode()
    assert f'<html lang="{language}"' in html
    for text in DESK[language]:
        assert text in html, text
    # The connection indicator's words are in the page (one shown by CSS per socket state), not in the stylesheet.
    live = {"fr": ("Connexion…", "En direct", "Reconnexion…"), "es": ("Conectando…", "En directo", "Reconectando…")}
    for text in live[language]:
        assert text in html


@pytest.mark.parametrize("language", ["fr", "es"])
def test_the_browsers_language_is_followed_when_the_agent_chose_none(client, alice, language):
    client.force_login(alice.user)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert DESK[language][0] in html


@pytest.mark.parametrize("language", ["fr", "es"])
def test_an_interaction_window_is_in_the_agents_language(client, alice, queue, language):
    speaking(alice, language)
    client.force_login(alice.user)
    accepted(client, alice, queue)
    html = client.get("/").content.decode()
    for text in WINDOW[language]:
        assert text in html, text
    assert 'data-shortcut="c"' in html and 'data-shortcut="d"' in html  # shortcuts do not depend on the words


@pytest.mark.parametrize("language", ["fr", "es"])
def test_a_pushed_region_is_written_in_the_sockets_language(client, alice, queue, language):
    client.force_login(alice.user)
    accepted(client, alice, queue)
    pushed = render_regions(alice, ["status", "interaction"], language=language)
    for text in WINDOW[language] + DESK[language][:3]:
        assert text in pushed, text
    english = render_regions(alice, ["status", "interaction"], language="en")
    for text in ENGLISH:
        assert text in english, text


def test_the_shortcuts_dialog_and_my_day_in_french(client, alice):
    speaking(alice, "fr")
    client.force_login(alice.user)
    page = client.get("/").content.decode()
    assert "Accepter la notification la plus récente" in page and "Voix : Prêt / Non prêt" in page
    day = client.get(reverse("my_day"), **HTMX).content.decode()
    assert "Ma journée" in day and "Durée moyenne" in day


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Il n&#x27;y a aucun appel à terminer."),
        ("es", "No hay ninguna llamada que finalizar."),
        ("en", "There is no call to end."),
    ],
)
def test_a_refusal_is_in_the_agents_language(client, alice, queue, language, message):
    speaking(alice, language if language != "en" else "")
    client.force_login(alice.user)
    callback = accepted(client, alice, queue)
    interaction = callback.interactions.get()
    response = client.post(reverse("end_call", args=[interaction.pk]), **HTMX)
    assert response.status_code == 409
    assert message in response.content.decode()


def test_a_validation_message_is_in_the_agents_language_too(client, alice, queue):
    speaking(alice, "fr")
    client.force_login(alice.user)
    callback = accepted(client, alice, queue)
    interaction = callback.interactions.get()
    response = client.post(reverse("add_note", args=[interaction.pk]), {"text": "x" * 4001}, **HTMX)
    assert response.status_code == 400
    assert "comporte au plus 4000 caractères" in response.content.decode()  # the form's own check, in French


def test_history_rows_stay_english_whatever_the_agents_language(client, alice, queue):
    speaking(alice, "fr")
    client.force_login(alice.user)
    callback = accepted(client, alice, queue)
    messages = " ".join(HistoryEvent.objects.filter(callback=callback).values_list("message", flat=True))
    assert "accepted" in messages.lower() and "accepté" not in messages.lower()


@pytest.mark.parametrize(
    ("language", "money", "day", "yes"),
    [
        ("en", r"1,234\.50", r"1 Dec 2026", "Yes"),
        ("fr", r"1\s234,50", r"1 (?i:déc)\.? 2026", "Oui"),
        ("es", r"1\s234,50", r"1 (?i:dic)\.? 2026", "Sí"),
    ],
)
def test_numbers_and_dates_in_a_window_follow_the_language(language, money, day, yes):
    with translation.override(language):
        assert re.fullmatch(money, format_value(Decimal("1234.5"), FieldFormat.MONEY, UTC))
        assert re.fullmatch(day, format_value(date(2026, 12, 1).isoformat(), FieldFormat.DATE, UTC))
        assert format_value("yes", FieldFormat.YES_NO, UTC) == yes


@pytest.mark.parametrize("language", ["fr", "es"])
def test_the_desired_time_and_amounts_in_the_window_are_written_in_the_language(client, alice, queue, language):
    speaking(alice, language)
    client.force_login(alice.user)
    PreviewField.objects.create(section=PreviewSection.CALLBACK_INFO, key="amount", label="Amount", format=FieldFormat.MONEY)
    when = timezone.now() + timedelta(days=60)
    accepted(client, alice, queue, type=CallbackType.DELAYED, desired_time=when, data={"amount": "1234.5"})
    html = client.get("/").content.decode()
    desired = re.search(r'data-testid="time-agent">(.*?)</time>', html).group(1)
    local = timezone.localtime(when, ZoneInfo(str(alice.timezone)))
    with translation.override("en"):
        english = date_format(local, "D j M, H:i")
    with translation.override(language):
        assert desired == date_format(local, "D j M, H:i") != english  # "mar 26 Jan, 06:19", not "Tue 26 Jan, 06:19"
    assert re.search(r"1\s234,50", html)  # the amount grouped, with the decimal comma
