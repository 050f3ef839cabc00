"""The e-mail interaction, in Chromium: opened from the Party Action Menu beside the call, a response inserted, the draft
kept across a reload, sent through the outbox (Queued, then Sent), and threaded into the contact's history."""

import re

import pytest
from playwright.sync_api import expect

from callbacks.models import CallbackRequest, ContactEmail

from ..factories import PASSWORD
from .test_core_journeys import create, notification, ready

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# This address's mail server greylists (tests/backends.py): the first try is refused "for now", the retry is taken,
# so the window shows Queued (and why) for the back-off before it shows Sent.
ADDRESS = "emma.petit@greylist.example"
OTHER = "emma@example.com"
NOTE = "Wants the refund confirmed in writing"


def is_draft_save(response) -> bool:
    return "/draft/" in response.url and response.status == 204


def test_the_email_interaction(server, billing_with_responses, open_page, shot):
    page = open_page("alice", PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 768})
    ready(page)
    reference = create(server, billing_with_responses, phone_number="+33612345671", customer_name="Emma Petit")["reference"]
    callback = CallbackRequest.objects.get(reference=reference)
    ContactEmail.objects.create(contact=callback.contact, address=ADDRESS)
    ContactEmail.objects.create(contact=callback.contact, address=OTHER)
    notification(page).get_by_role("button", name="Accept").click()
    call = page.get_by_role("region", name="Interactions").locator("article.window")
    expect(call.get_by_test_id("call-status")).to_have_text("Ready to Call")

    # The Party Action Menu opens in the line beside the name: small, covering nothing.
    call.get_by_label("Party Action Menu").click()
    expect(call.get_by_role("button", name=f"E-mail {OTHER}")).to_be_visible()
    call.get_by_role("button", name="Reschedule a Callback").click(trial=True, timeout=3000)  # nothing covers it
    shot(page, "email-party-action-menu")
    call.get_by_role("button", name=f"E-mail {ADDRESS}").click()

    # An e-mail interaction window opens beside the call: To, Subject with the reference, Body (focused).
    emails = page.get_by_role("region", name="E-mail interactions")
    window = emails.locator("article.email-window")
    expect(window).to_have_count(1)
    expect(window.get_by_test_id("email-status")).to_have_text("Draft")
    expect(window.get_by_label("To", exact=True)).to_have_value(ADDRESS)
    expect(window.get_by_label("Subject", exact=True)).to_have_value(f"Your callback request {reference}")
    body = window.get_by_label("Body", exact=True)
    expect(body).to_be_focused()
    expect(call.get_by_role("button", name=f"E-mail {OTHER}")).to_be_hidden()  # the menu folded away

    # A standard response goes into this e-mail's body, filled in for the contact; then the agent edits it.
    with page.expect_response(is_draft_save):
        window.get_by_label("Search responses for this e-mail").fill("refund")
        window.get_by_role("button", name="Insert into e-mail: Refund on its way").click()
    expect(body).to_have_value(f"Dear Emma, your refund for {reference} is on its way.")
    body.press("End")
    with page.expect_response(is_draft_save):
        body.press_sequentially(" Kind regards, Alice")

    # The draft is kept on the server: a reload shows it as typed.
    page.reload()
    page.wait_for_selector("body[data-ws=open]")
    expect(body).to_have_value(f"Dear Emma, your refund for {reference} is on its way. Kind regards, Alice")

    # The agent types a note in the call window meanwhile; a second "E-mail" to the same contact focuses the draft.
    call.get_by_label("Note", exact=True).fill(NOTE)
    call.get_by_label("Party Action Menu").click()
    call.get_by_role("button", name=f"E-mail {OTHER}").click()
    expect(body).to_be_focused()
    expect(window).to_have_count(1)
    shot(page, "email-compose")

    # Send: Queued (the greylisting server refused the first try, and the window says why), then Sent.
    window.get_by_role("button", name="Send").click()
    expect(window.get_by_test_id("email-status")).to_have_text("Queued")
    expect(window).to_contain_text("Try 1 failed")
    expect(window).to_contain_text("Greylisted")
    shot(page, "email-queued-retrying")
    expect(window.get_by_test_id("email-status")).to_have_text("Sent", timeout=30000)
    history = call.get_by_role("list", name="Case history")
    expect(history).to_contain_text(f"E-mail queued to {ADDRESS} by Alice: Your callback request {reference}")
    expect(history).to_contain_text(f"E-mail sent to {ADDRESS}: Your callback request {reference} (try 2)")
    # The call window was left alone throughout: the typed note is still there, the call still Ready to Call.
    expect(call.get_by_label("Note", exact=True)).to_have_value(NOTE)
    expect(call.get_by_test_id("call-status")).to_have_text("Ready to Call")
    shot(page, "email-sent")

    # The contact's history threads it: subject, to, who sent it, when, status.
    contact_page = page.context.new_page()
    contact_page.set_viewport_size({"width": 1366, "height": 768})
    contact_page.goto(f"/contacts/{callback.contact_id}/")
    thread = contact_page.get_by_role("list", name="E-mails to this contact")
    expect(thread).to_contain_text(f"Your callback request {reference}")
    expect(thread).to_contain_text(re.compile(rf"To {re.escape(ADDRESS)} · by Alice · \d+ \w+ \d{{4}} \d\d:\d\d · {reference}"))
    expect(thread.get_by_test_id("thread-status")).to_have_text("Sent")
    expect(contact_page.get_by_role("list", name="Contact history")).to_contain_text(f"E-mail sent to {ADDRESS}")
    shot(contact_page, "email-contact-history")
    contact_page.close()

    # Done: the e-mail window leaves the desk; the call's window stays as it was.
    window.get_by_role("button", name="Done").click()
    expect(window).to_have_count(0)
    expect(call.get_by_label("Note", exact=True)).to_have_value(NOTE)
