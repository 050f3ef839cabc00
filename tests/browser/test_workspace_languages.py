"""The workspace in English, French and Spanish, in Chromium at 1366 × 768 (the offer card, the desk and the Team
Communicator each kept as a screenshot): a whole callback (Ready → offer → Accept → Call →
End Call → Mark Done) with the translated button names, the longer words still fitting (the status bar and the
toolbar one row each, Dispositions and Note above the fold), live pushes and the connection indicator in the agent's
language, and the keyboard shortcuts working in French (they follow `data-shortcut`, not the words). axe-core checks
every state, as in every browser test."""

import re

import pytest
from playwright.sync_api import expect

from callbacks.models import Agent, DispositionCode

from ..factories import PASSWORD, make_agent, make_api_client, make_queue
from .test_core_journeys import create, notification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The seed's words as Genesys' French and Spanish desktops say them.
WORDS = {
    "fr": {
        "Voice": "Voix",
        "Ready": "Prêt",
        "Accept": "Accepter",
        "Call": "Appeler",
        "End Call": "Terminer l'appel",
        "Hold": "Mettre en attente",
        "Resume Call": "Reprendre l'appel",
        "Mark Done": "Marquer comme terminé",
        "Connected": "Connecté",
        "On Hold": "En attente",
        "Ready to Call": "Prêt à appeler",
        "Live": "En direct",
        "Callback Information": "Informations du rappel",
        "Disposition": "Qualification",
        "Set disposition": "Qualifier",
        "Note": "Note",
        "Add Note": "Ajouter une note",
        "My status": "Mon statut",
        "Call status": "Statut de l'appel",
        "Desk clear": "Votre poste est libre.",
        "Keyboard shortcuts": "Raccourcis clavier",
        "Search the Team Communicator": "Rechercher dans le Team Communicator",
        "Callback": "Rappel",
    },
    "es": {
        "Voice": "Voz",
        "Ready": "Listo",
        "Accept": "Aceptar",
        "Call": "Llamar",
        "End Call": "Finalizar llamada",
        "Hold": "Poner en espera",
        "Resume Call": "Reanudar llamada",
        "Mark Done": "Marcar como terminado",
        "Connected": "Conectada",
        "On Hold": "En espera",
        "Ready to Call": "Lista para llamar",
        "Live": "En directo",
        "Callback Information": "Información de la devolución de llamada",
        "Disposition": "Tipificación",
        "Set disposition": "Tipificar",
        "Note": "Nota",
        "Add Note": "Añadir nota",
        "My status": "Mi estado",
        "Call status": "Estado de la llamada",
        "Desk clear": "Su escritorio está despejado.",
        "Keyboard shortcuts": "Atajos de teclado",
        "Search the Team Communicator": "Buscar en el Team Communicator",
        "Callback": "Devolución de llamada",
    },
}
# English: the seed's own words.
WORDS["en"] = {word: word for word in WORDS["fr"]} | {"Desk clear": "Your desk is clear.", "Live": "Live"}


@pytest.fixture
def setup(transactional_db):
    queue = make_queue("billing", name="Billing", offer_timeout_seconds=60)
    alice = make_agent("alice", queue)
    DispositionCode.objects.create(code="resolved", label="Resolved", order=1)
    _, token = make_api_client("Website")
    return {"queue": queue, "alice": alice, "token": token}


def speaking(agent: Agent, language: str) -> None:
    Agent.objects.filter(pk=agent.pk).update(language=language)


def in_view(locator, height: int = 768) -> None:
    box = locator.bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, (locator, box)


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_a_whole_callback_in_the_agents_language_at_1366_by_768(server, setup, open_page, shot, language):
    w = WORDS[language]
    speaking(setup["alice"], language)
    page = open_page("alice", PASSWORD, viewport={"width": 1366, "height": 768})
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#conn .conn-open")).to_have_text(w["Live"])
    expect(page.locator("#conn .conn-open")).to_be_visible()
    voice = page.get_by_role("navigation", name=w["My status"]).locator("[data-channel=voice]")
    voice.get_by_role("button", name=w["Ready"], exact=True).click()
    expect(page.get_by_test_id("status-voice")).to_have_text(w["Ready"])
    create(server, setup["token"], phone_number="+33612340011", customer_name="Camille Laurent", data={"reason": "Refund"})
    expect(notification(page)).to_contain_text("+33 6 12 34 00 11")
    expect(notification(page).get_by_role("heading")).to_have_text(f"{w['Callback']} · Billing")  # the card's title too
    in_view(notification(page))
    shot(page, f"offer-card-1366x768-{language}")
    notification(page).get_by_role("button", name=w["Accept"]).click()
    window = page.locator("[data-interaction]")
    expect(window.get_by_role("region", name=w["Callback Information"])).to_be_visible()
    expect(window.get_by_test_id("call-status")).to_have_text(w["Ready to Call"])
    window.get_by_role("button", name=w["Call"], exact=True).click()
    expect(window.get_by_test_id("call-status")).to_have_text(w["Connected"], timeout=10000)  # pushed, in French
    shot(page, f"desk-1366x768-{language}")
    # The Team Communicator, searched: its placeholder and its results fit at this size in every language.
    search = page.get_by_label(w["Search the Team Communicator"])
    search.fill("Bil")
    expect(page.locator("#team-results")).to_contain_text("Billing")
    shot(page, f"team-communicator-1366x768-{language}")
    search.fill("")
    # The longer words still fit: the status bar and the toolbar one row each, Dispositions and Note above the fold.
    for locator in (
        page.get_by_role("navigation", name=w["My status"]),
        window.get_by_test_id("call-status"),
        window.get_by_role("toolbar"),
        window.get_by_label(w["Disposition"], exact=True),
        window.get_by_role("button", name=w["Set disposition"]),
        window.get_by_label(w["Note"], exact=True),
        window.get_by_role("button", name=w["Add Note"]),
    ):
        in_view(locator)
    assert page.evaluate("window.scrollY") == 0
    assert window.get_by_role("toolbar").bounding_box()["height"] < 50  # one row of actions
    assert page.get_by_role("navigation", name=w["My status"]).bounding_box()["height"] < 60  # one row of status
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing sticks out sideways
    window.get_by_role("button", name=w["End Call"]).click()
    expect(window.get_by_test_id("call-status")).to_have_text(w["Ready to Call"])
    window.get_by_label(w["Disposition"], exact=True).select_option(label="Resolved")
    window.get_by_role("button", name=w["Set disposition"]).click()
    expect(window.get_by_test_id("disposition")).to_have_text("Resolved")
    window.get_by_role("button", name=w["Mark Done"]).click()
    expect(page.get_by_text(w["Desk clear"])).to_be_visible()


def test_the_keyboard_shortcuts_work_in_french(server, setup, open_page, shot):
    w = WORDS["fr"]
    speaking(setup["alice"], "fr")
    page = open_page("alice", PASSWORD, viewport={"width": 1366, "height": 768})
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name=w["Keyboard shortcuts"])
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Accepter la notification la plus récente")
    shot(page, "workspace-shortcuts-fr")
    page.keyboard.press("Escape")
    page.keyboard.press("1")  # Voix : Prêt
    expect(page.get_by_test_id("status-voice")).to_have_text(w["Ready"])
    create(server, setup["token"], phone_number="+33612340011", customer_name="Camille Laurent")
    toast = notification(page)
    expect(toast.get_by_role("button", name=w["Accept"])).to_be_focused()
    expect(page.locator("#announce-assertive")).to_contain_text("Appuyez sur A pour accepter")  # the JS catalogue
    expect(page).to_have_title(re.compile(r"^\(1\) Offre en attente"))
    page.keyboard.press("a")
    window = page.locator("[data-interaction]")
    expect(window.get_by_role("button", name=w["Call"], exact=True)).to_be_focused()
    page.keyboard.press("c")
    expect(window.get_by_test_id("call-status")).to_have_text(w["Connected"], timeout=10000)
    expect(page.locator("#announce-polite")).to_contain_text("Statut de l'appel : Connecté")
    page.keyboard.press("h")
    expect(window.get_by_test_id("call-status")).to_have_text(w["On Hold"])
    expect(window.get_by_role("button", name=w["Resume Call"])).to_be_visible()
    page.keyboard.press("h")
    expect(window.get_by_test_id("call-status")).to_have_text(w["Connected"])
    page.keyboard.press("e")
    expect(window.get_by_test_id("call-status")).to_have_text(w["Ready to Call"])
    page.keyboard.press("d")
    expect(page.get_by_text(w["Desk clear"])).to_be_visible()
