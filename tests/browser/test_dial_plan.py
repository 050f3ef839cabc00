"""The dial plan through the pages (issue #22): an admin narrows a queue's dial plan in Django admin, with a clear
refusal for a prefix that is not one, and the agent reads why Call is refused for a number outside it."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from callbacks.enums import DialMode
from callbacks.models import EntryNumber, Queue

from ..factories import PASSWORD, make_agent, make_api_client, make_queue
from .conftest import SHOTS, django_admin
from .test_call_handling import accept, status, toolbar
from .test_core_journeys import create, ready

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_narrows_the_dial_plan_and_the_agent_reads_why_call_is_refused(server, open_page, shot):
    queue = make_queue("billing", name="Billing", offer_timeout_seconds=30)
    make_agent("alice", queue)
    _, token = make_api_client("Website")
    get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)

    page = open_page("alice", PASSWORD)
    ready(page)
    create(server, token, phone_number="+33612345678", customer_name="Camille Laurent")
    accept(page)

    admin = django_admin(page, server, "boss", PASSWORD)
    admin.goto(f"/admin/callbacks/queue/{queue.pk}/change/")
    admin.get_by_label("Allowed prefixes").fill("32, +32")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".errorlist")).to_contain_text("“32” is not a prefix")
    admin.get_by_label("Allowed prefixes").fill("+32 +352")
    admin.get_by_label("Allowed prefixes").scroll_into_view_if_needed()
    admin.screenshot(path=str(SHOTS / "admin-dial-plan.png"))
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")
    assert Queue.objects.get(pk=queue.pk).dial_allowed_prefixes == "+32, +352"
    voice_menu_in_admin(admin, queue)
    admin.context.close()

    toolbar(page).get_by_role("button", name="Call", exact=True).click()
    refusal = page.get_by_role("alert").filter(has_text="dial plan")
    expect(refusal).to_contain_text("+33 6 12 34 56 78 is outside Billing's dial plan (+32, +352).")
    expect(status(page)).to_have_text("Ready to Call")
    shot(page, "desk-dial-plan-refused")


def voice_menu_in_admin(admin, queue) -> None:
    """The voice menu set up on the same page (issue #25): an entry number, a caller ID name and customer-first
    dialling, with a clear refusal for what cannot be used and nothing half-written. (Part of the dial plan's journey:
    the test server keeps Django's content types cached across tests, and each test's flush numbers them anew, so
    an admin page saves a queue once per test run.)"""
    admin.goto(f"/admin/callbacks/queue/{queue.pk}/change/")
    admin.locator("#id_caller_id").fill("+33 1 84 88 00 00")
    admin.locator("#id_caller_id_name").fill('Billing" <sip:evil@x>')
    admin.locator("#id_dial_mode").select_option(DialMode.CUSTOMER_FIRST)
    admin.locator(".add-row a").filter(has_text="entry number").click()
    admin.locator('input[name="entry_numbers-0-number"]').fill("billing")
    admin.get_by_role("button", name="Save", exact=True).click()
    errors = admin.locator(".errorlist")
    expect(errors.first).to_be_visible()
    expect(admin.locator("body")).to_contain_text("A caller ID name is letters, digits, spaces and . , - & ' only")
    expect(admin.locator("body")).to_contain_text("is not a phone number")
    assert not EntryNumber.objects.exists(), "nothing half-written"
    admin.locator("#id_caller_id_name").fill("Billing & Co.")
    admin.locator('input[name="entry_numbers-0-number"]').fill("+33 1 84 88 00 10")
    admin.locator('select[name="entry_numbers-0-language"]').select_option("fr")
    admin.locator("#id_dial_mode").scroll_into_view_if_needed()
    admin.screenshot(path=str(SHOTS / "admin-voice-menu.png"), full_page=True)
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")
    saved = Queue.objects.get(pk=queue.pk)
    assert (saved.caller_id, saved.caller_id_name, saved.dial_mode) == ("+33184880000", "Billing & Co.", DialMode.CUSTOMER_FIRST)
    assert list(EntryNumber.objects.values_list("number", "language")) == [("+33184880010", "fr")]
