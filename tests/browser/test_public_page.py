"""The customer's page on a 360 × 740 phone: book a free slot, then move it and cancel it through the signed link."""

import re

import pytest
from playwright.sync_api import expect

from callbacks.enums import CallbackState
from callbacks.models import CallbackRequest

from ..factories import make_calendar, make_queue
from .conftest import new_context, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sales(transactional_db):
    calendar = make_calendar(hours={d: [("00:00", "00:00")] for d in range(7)}, slot_minutes=30, capacity=3)
    return make_queue("sales", name="Sales", calendar=calendar)


def phone_context(chromium, server, axe, **options):
    # A visitor in New York: the page is written in the queue's zone (Paris) until it asks the browser for its own.
    return new_context(
        chromium,
        axe,
        "visitor",
        viewport={"width": 360, "height": 740},
        base_url=server.url,
        is_mobile=True,
        has_touch=True,
        timezone_id="America/New_York",
        **options,
    )


@pytest.fixture
def phone(chromium, server, csp_violations, axe):
    context = phone_context(chromium, server, axe)
    page = context.new_page()
    page.set_default_timeout(15000)
    watch_csp(page, csp_violations, "visitor")
    yield page
    axe.now(page)
    context.close()


@pytest.fixture
def french_phone(chromium, server, csp_violations, axe):
    """A phone set to French: its browser sends Accept-Language: fr-FR."""
    context = phone_context(chromium, server, axe, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15000)
    watch_csp(page, csp_violations, "visitor")
    yield page
    axe.now(page)
    context.close()


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_book_a_slot_then_move_and_cancel_it_from_the_link(sales, phone, shot):
    page = phone
    page.goto("/request/sales/")
    page.wait_for_url(re.compile(r"tz=America"))  # the page asked the browser for its zone once
    expect(page.get_by_role("heading", name="Request a callback")).to_be_visible()
    expect(page.get_by_text("Times are in America/New_York")).to_be_visible()
    no_sideways_scroll(page)
    page.get_by_label("At a time I choose").check()
    slot = page.get_by_label("Time", exact=True)
    first_choice = slot.locator("option").nth(2)
    chosen = first_choice.get_attribute("value")
    slot.select_option(chosen)
    page.get_by_label("Phone number").fill("12")
    page.get_by_label("Your name").fill("Nina Rossi")
    page.get_by_role("button", name="Request my callback").click()
    expect(page.get_by_role("alert")).to_contain_text("is not a valid phone number")
    no_sideways_scroll(page)
    shot(page, "public-request-error")
    assert not CallbackRequest.objects.exists()
    page.get_by_label("At a time I choose").check()
    slot.select_option(chosen)
    page.get_by_label("Phone number").fill("+33 6 12 34 56 78")
    page.get_by_label("Your name").fill("Nina Rossi")
    page.get_by_label("What is it about?").fill("A question about my bill")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "public-request")
    page.get_by_role("button", name="Request my callback").click()

    expect(page.get_by_role("heading", name="Thank you, we will call you")).to_be_visible()
    reference = page.get_by_test_id("reference").inner_text()
    assert re.fullmatch(r"CB-[A-Z0-9]{8}", reference)
    no_sideways_scroll(page)
    shot(page, "public-done")
    callback = CallbackRequest.objects.get(reference=reference)
    assert callback.state == CallbackState.SCHEDULED and callback.desired_time.isoformat() == chosen

    page.locator("p.link a").click()
    expect(page.get_by_test_id("state")).to_have_text("Booked")
    options = page.get_by_label("Change the time").locator("option")
    later = options.nth(4).get_attribute("value")
    page.get_by_label("Change the time").select_option(later)
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("status")).to_have_text("Your new time is booked.")
    callback.refresh_from_db()
    assert callback.desired_time.isoformat() == later
    no_sideways_scroll(page)
    shot(page, "public-manage")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel my request").click()
    expect(page.get_by_role("status")).to_have_text("Your request is cancelled.")
    expect(page.get_by_test_id("state")).to_have_text("Cancelled")
    callback.refresh_from_db()
    assert callback.state == CallbackState.CANCELLED


def test_the_page_speaks_the_phones_language_and_the_switch_changes_it(sales, french_phone, shot):
    page = french_phone
    page.goto("/request/sales/")
    page.wait_for_url(re.compile(r"tz=America"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Demander à être rappelé")).to_be_visible()
    expect(page.get_by_text("Les horaires sont indiqués dans le fuseau America/New_York")).to_be_visible()
    page.get_by_label("À l'heure de mon choix").check()
    slot = page.get_by_label("Horaire", exact=True)
    chosen = slot.locator("option").nth(2).get_attribute("value")
    slot.select_option(chosen)
    page.get_by_label("Numéro de téléphone").fill("+33 6 12 34 56 78")
    page.get_by_label("Votre nom").fill("Nina Rossi")
    page.get_by_label("À quel sujet").fill("Une question sur ma facture")
    no_sideways_scroll(page)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "public-request-fr")

    page.get_by_label("Langue").select_option("es")
    page.get_by_label("Langue").scroll_into_view_if_needed()
    shot(page, "public-language-switch")
    page.get_by_role("button", name="Changer de langue").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Solicitar una llamada")).to_be_visible()
    assert "tz=America" in page.url  # back on the same page, the zone kept
    page.get_by_label("A la hora que yo elija").check()
    slot = page.get_by_label("Hora", exact=True)
    slot.select_option(chosen)
    page.get_by_label("Número de teléfono").fill("+33 6 12 34 56 78")
    page.get_by_label("Su nombre").fill("Nina Rossi")
    page.get_by_label("¿Cuál es el motivo?").fill("Una pregunta sobre mi factura")
    no_sideways_scroll(page)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "public-request-es")
    page.get_by_role("button", name="Solicitar mi llamada").click()

    expect(page.get_by_role("heading", name="Gracias, le llamaremos")).to_be_visible()
    expect(page.get_by_test_id("when")).to_have_text(re.compile(r"^\w+ \d{1,2} de \w+, \d\d:\d\d$"))
    callback = CallbackRequest.objects.get(reference=page.get_by_test_id("reference").inner_text())
    assert callback.desired_time.isoformat() == chosen
