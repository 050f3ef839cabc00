"""The voice menu set up in Django admin (issue #25): a queue's entry numbers and menu settings, its caller ID name,
and customer-first dialling, with a clear refusal for what cannot be used."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from callbacks.enums import DialMode
from callbacks.models import EntryNumber, Queue

from ..factories import PASSWORD, make_agent, make_queue
from .conftest import SHOTS, django_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_gives_a_queue_an_entry_number_a_caller_id_name_and_customer_first_dialling(server, open_page):
    queue = make_queue("billing", name="Billing")
    make_agent("alice", queue)
    get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    page = open_page("alice", PASSWORD)
    admin = django_admin(page, server, "boss", PASSWORD)
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
    admin.context.close()
