"""The customer's page on a 360 × 740 phone: book a free slot, then move it and cancel it through the signed link;
confirm the number typed with a texted code."""

import re
import time

import pytest
from playwright.sync_api import expect

from callbacks import lifecycle, links
from callbacks.enums import CallbackState, Channel
from callbacks.models import CallbackRequest

from ..factories import make_agent, make_calendar, make_callback, make_queue, numbers, set_ready
from .conftest import new_context, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sales(transactional_db):
    calendar = make_calendar(hours={d: [("00:00", "00:00")] for d in range(7)}, slot_minutes=30, capacity=3)
    return make_queue("sales", name="Sales", calendar=calendar)


def visitor(chromium, server, csp_violations, axe, **options):
    # A visitor in New York: the page is written in the queue's zone (Paris) until it asks the browser for its own.
    context = new_context(
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
    page = context.new_page()
    page.set_default_timeout(15000)
    watch_csp(page, csp_violations, "visitor")
    yield page
    axe.now(page)
    context.close()


@pytest.fixture
def phone(chromium, server, csp_violations, axe):
    yield from visitor(chromium, server, csp_violations, axe)


@pytest.fixture
def french_phone(chromium, server, csp_violations, axe):
    """A phone set to French: its browser sends Accept-Language: fr-FR."""
    yield from visitor(chromium, server, csp_violations, axe, locale="fr-FR")


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


FRENCH = {
    "at a time": "À l'heure de mon choix",
    "time": "Horaire",
    "phone": "Numéro de téléphone",
    "name": "Votre nom",
    "reason": "À quel sujet",
    "reason text": "Une question sur ma facture",
}
SPANISH = {
    "at a time": "A la hora que yo elija",
    "time": "Hora",
    "phone": "Número de teléfono",
    "name": "Su nombre",
    "reason": "¿Cuál es el motivo?",
    "reason text": "Una pregunta sobre mi factura",
}


def fill_in(page, words: dict, chosen: str | None = None) -> str:
    """Fill the form as a visitor reading it in one language (finding fields by the labels they read); returns the
    free time chosen (the third listed unless given)."""
    page.get_by_label(words["at a time"]).check()
    slot = page.get_by_label(words["time"], exact=True)
    chosen = chosen or slot.locator("option").nth(2).get_attribute("value")
    slot.select_option(chosen)
    page.get_by_label(words["phone"]).fill("+33 6 12 34 56 78")
    page.get_by_label(words["name"]).fill("Nina Rossi")
    page.get_by_label(words["reason"]).fill(words["reason text"])
    no_sideways_scroll(page)
    page.evaluate("window.scrollTo(0, 0)")
    return chosen


def test_the_page_speaks_the_phones_language_and_the_switch_changes_it(sales, french_phone, shot):
    page = french_phone
    page.goto("/request/sales/")
    page.wait_for_url(re.compile(r"tz=America"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Demander à être rappelé")).to_be_visible()
    expect(page.get_by_text("Les horaires sont indiqués dans le fuseau America/New_York")).to_be_visible()
    chosen = fill_in(page, FRENCH)
    shot(page, "public-request-fr")

    page.get_by_label("Langue").select_option("es")
    page.get_by_label("Langue").scroll_into_view_if_needed()
    shot(page, "public-language-switch")
    page.get_by_role("button", name="Changer de langue").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Solicitar una llamada")).to_be_visible()
    assert "tz=America" in page.url  # back on the same page, the zone kept
    fill_in(page, SPANISH, chosen)
    shot(page, "public-request-es")
    page.get_by_role("button", name="Solicitar mi llamada").click()

    expect(page.get_by_role("heading", name="Gracias, le llamaremos")).to_be_visible()
    expect(page.get_by_test_id("when")).to_have_text(re.compile(r"^\w+ \d{1,2} de \w+, \d\d:\d\d$"))
    callback = CallbackRequest.objects.get(reference=page.get_by_test_id("reference").inner_text())
    assert callback.desired_time.isoformat() == chosen


def test_a_visitor_confirms_their_number_with_the_texted_code(phone, sms_gateway, shot, sales):
    gateway = sms_gateway
    sales.verify_numbers = True
    sales.save()
    page = phone
    texted_before = len(gateway.texts)
    page.goto("/request/sales/")
    page.get_by_label("Phone number").fill("+33 6 12 34 56 78")
    page.get_by_label("Your name").fill("Nina Rossi")
    page.get_by_role("button", name="Request my callback").click()
    expect(page.get_by_role("heading", name="Check your number")).to_be_visible()
    expect(page.get_by_text("+33 6 12 34 56 78")).to_be_visible()
    assert not CallbackRequest.objects.exists()
    deadline = time.monotonic() + 20
    while len(gateway.texts) == texted_before and time.monotonic() < deadline:  # the server's task runner sends it
        time.sleep(0.1)
    text = gateway.texts[-1]
    assert text["To"] == "+33612345678" and "Sales: your code is" in text["Body"]
    code = text["Body"].split("your code is ")[1][:6]
    page.get_by_label("Code").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("alert")).to_contain_text("4 tries left")
    no_sideways_scroll(page)
    page.get_by_label("Code").fill(code)
    shot(page, "public-verify-number")
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", name="Thank you, we will call you")).to_be_visible()
    assert CallbackRequest.objects.get().phone_number == "+33612345678"


def test_the_customers_page_shows_their_place_and_follows_it_without_a_reload(phone, server, shot):
    """Three customers wait; the third watches their page. As the callbacks ahead are taken (offered to an agent who
    became Ready, then one cancelled), the place moves 3 → 2 → next, in the same page (polled, never reloaded)."""
    queue = make_queue("support", name="Support")
    alice = make_agent("alice", queue)
    waiting = [make_callback(queue, number, channel=Channel.WEB_CALLBACK) for number in numbers(3)]
    phone.goto(f"/my/{links.manage_token(waiting[2].reference)}/?tz=Europe/Paris")
    place = phone.get_by_test_id("place")
    expect(place).to_have_text("You are number 3 in line.")
    expect(phone.get_by_test_id("wait")).to_contain_text("Estimated wait:")
    phone.evaluate("window.sameDocument = true")
    no_sideways_scroll(phone)
    shot(phone, "public-standing")

    set_ready(alice, Channel.WEB_CALLBACK)  # the first one is offered to Alice: no longer in line
    expect(place).to_have_text("You are number 2 in line.", timeout=15000)
    lifecycle.do_cancel_callback(reference=waiting[1].reference, reason="Solved by e-mail")
    expect(place).to_have_text("You are next in line.", timeout=15000)
    assert phone.evaluate("window.sameDocument") is True, "updated in place, not reloaded"
