"""Handling a callback like any other voice call, in Chromium, on the simulated switch."""

import re

import pytest
from playwright.sync_api import expect

from callbacks.enums import CallOutcome, RetryAction
from callbacks.models import DispositionCode, RetryRule

from ..factories import PASSWORD, make_agent, make_api_client, make_queue
from .test_core_journeys import create, notification, ready

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(transactional_db):
    queue = make_queue("billing", name="Billing", offer_timeout_seconds=30)
    alice = make_agent("alice", queue)
    bob = make_agent("bob", queue)
    DispositionCode.objects.create(code="resolved", label="Resolved", order=1)
    DispositionCode.objects.create(code="no-answer", label="No answer", order=2)
    _, token = make_api_client("Website")
    return {"queue": queue, "alice": alice, "bob": bob, "token": token}


def accept(page):
    notification(page).get_by_role("button", name="Accept").click()
    expect(page.get_by_role("region", name="Callback Information")).to_be_visible()


def status(page):
    return page.get_by_test_id("call-status")


def history(page):
    return page.get_by_role("list", name="Case history")


def toolbar(page):
    return page.get_by_role("toolbar", name="Call actions")


def test_a_whole_call_from_accept_to_mark_done(server, setup, open_page, shot):
    page = open_page("alice", PASSWORD)
    ready(page)
    create(server, setup["token"], phone_number="+33612345678", customer_name="Camille Laurent")
    accept(page)
    expect(status(page)).to_have_text("Ready to Call")
    toolbar(page).get_by_role("button", name="Call", exact=True).click()
    expect(status(page)).to_have_text("Dialing")
    # The customer picks up on the customer phone page of the simulated switch.
    with page.context.expect_page() as popup:
        page.get_by_role("link", name="Customer phone (simulator)").click()
    phone = popup.value
    expect(phone.get_by_test_id("line")).to_have_text("Ringing…")
    phone.get_by_role("button", name="Answer").click()
    expect(status(page)).to_have_text("Connected")
    toolbar(page).get_by_role("button", name="Hold").click()
    expect(status(page)).to_have_text("On Hold")
    expect(phone.get_by_test_id("line")).to_have_text("On hold (music)")
    toolbar(page).get_by_role("button", name="Resume Call").click()
    expect(status(page)).to_have_text("Connected")
    toolbar(page).get_by_text("Send DTMF").click()
    for key in "123":
        page.get_by_role("button", name=f"Key {key}").click()
    expect(page.get_by_label("DTMF digits")).to_have_value("123")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(history(page)).to_contain_text("DTMF sent: 123")
    expect(phone.get_by_test_id("agent-tones")).to_have_text("123")
    page.get_by_label("Note").fill("Customer confirmed the refund.")
    # A live update (the customer keys 9) does not wipe what the agent is typing.
    phone.get_by_role("button", name="9", exact=True).click()
    expect(history(page)).to_contain_text("Customer keyed: 9")
    expect(page.get_by_label("Note")).to_have_value("Customer confirmed the refund.")
    page.get_by_role("button", name="Add Note").click()
    expect(history(page)).to_contain_text("Note: Customer confirmed the refund.")
    expect(page.get_by_label("Note")).to_have_value("")
    page.get_by_label("Disposition", exact=True).select_option(label="Resolved")
    page.get_by_role("button", name="Set disposition").click()
    expect(page.get_by_test_id("disposition")).to_have_text("Resolved")
    expect(page.get_by_role("button", name="Mark Done")).to_be_disabled()  # the call is live
    shot(page, "call-connected")
    toolbar(page).get_by_role("button", name="End Call").click()
    expect(status(page)).to_have_text("Ready to Call")
    expect(phone.get_by_test_id("line")).to_have_text("Call ended")
    page.get_by_role("button", name="Mark Done").click()
    expect(page.get_by_role("region", name="Callback Information")).to_have_count(0)
    expect(page.get_by_text("Your desk is clear.")).to_be_visible()


def test_busy_number_is_retried_automatically(server, setup, open_page):
    RetryRule.objects.create(queue=setup["queue"], outcome=CallOutcome.BUSY, action=RetryAction.RETRY, delay_minutes=0)
    page = open_page("alice", PASSWORD)
    ready(page)
    create(server, setup["token"], phone_number="+33612340001", customer_name="Busy Line")  # …0001: busy
    accept(page)
    toolbar(page).get_by_role("button", name="Call", exact=True).click()
    # Busy: the attempt closes (the agent is told why), the callback is rescheduled and rings again.
    expect(page.get_by_role("status", name="Attempt closed")).to_contain_text("Busy: automatic retry at", timeout=15000)
    expect(notification(page)).to_contain_text("Busy Line", timeout=15000)
    accept(page)
    expect(page.get_by_test_id("attempts")).to_have_text("attempt 2 of 3")
    expect(history(page)).to_contain_text(re.compile(r"Busy: automatic retry at"))


def test_consultation_that_ends_in_a_transfer(server, setup, open_page):
    alice = open_page("alice", PASSWORD)
    bob = open_page("bob", PASSWORD)
    ready(alice)
    create(server, setup["token"], phone_number="+33612340013", customer_name="Hugo Bernard")  # …0013: answers after 3 s
    accept(alice)
    toolbar(alice).get_by_role("button", name="Call", exact=True).click()
    expect(status(alice)).to_have_text("Connected", timeout=15000)
    alice.get_by_label("Search the Team Communicator").fill("bob")
    alice.get_by_role("button", name="Start Consultation with Bob").click()
    expect(status(alice)).to_have_text("On Hold")
    request = bob.get_by_role("alertdialog", name="Consultation request")
    expect(request).to_contain_text("Alice wants to consult you")
    request.get_by_role("button", name="Accept").click()
    expect(bob.get_by_role("article", name="Consultation")).to_be_visible()
    alice.get_by_role("button", name="Transfer to Bob", exact=True).click()
    expect(alice.get_by_text("Your desk is clear.")).to_be_visible()
    expect(status(bob)).to_have_text("Connected")
    expect(bob.locator("[data-interaction]")).to_contain_text("+33 6 12 34 00 13")
    expect(history(bob)).to_contain_text("Call transferred to Bob after consultation")


def test_mark_done_is_blocked_until_a_disposition_is_set_when_required(server, setup, open_page):
    setup["queue"].require_disposition = True
    setup["queue"].save()
    page = open_page("alice", PASSWORD)
    ready(page)
    create(server, setup["token"], phone_number="+33612345670", customer_name="Léa Moreau")
    accept(page)
    page.get_by_role("button", name="Mark Done").click()
    expect(page.get_by_role("alert").filter(has_text="Choose a disposition before Mark Done.")).to_be_visible()
    # The refusal is also read out by the page's own live region (a swapped region is not announced reliably).
    expect(page.locator("#announce-assertive")).to_contain_text("Choose a disposition before Mark Done.")
    expect(page.get_by_role("region", name="Callback Information")).to_be_visible()
    page.get_by_label("Disposition", exact=True).select_option(label="No answer")
    page.get_by_role("button", name="Set disposition").click()
    expect(page.get_by_test_id("disposition")).to_have_text("No answer")
    page.get_by_role("button", name="Mark Done").click()
    expect(page.get_by_text("Your desk is clear.")).to_be_visible()
