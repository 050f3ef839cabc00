"""The seed's remaining call details in Chromium, on the simulated switch: dial on Accept, the Conference request,
an agent busy in another agent's call, and consultations and conferences with a typed number."""

import pytest
from playwright.sync_api import expect

from callbacks.enums import AcceptAction

from ..factories import PASSWORD, make_agent, make_api_client, make_queue
from .test_call_handling import accept, history, status, toolbar
from .test_core_journeys import create, notification, ready

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAR_END = "+33698765432"  # rings until someone answers on its phone page


@pytest.fixture
def setup(transactional_db):
    queue = make_queue("billing", name="Billing", offer_timeout_seconds=30)
    make_agent("alice", queue)
    make_agent("bob", queue)
    _, token = make_api_client("Website")
    return {"queue": queue, "token": token}


def calm(page):
    """The size the screenshots are checked at."""
    page.set_viewport_size({"width": 1366, "height": 768})


def connected_call(server, setup, page, **body):
    """Alice accepts a callback and the customer answers by themselves (…0013: after 3 s)."""
    ready(page)
    create(server, setup["token"], phone_number="+33612340013", **body)
    accept(page)
    toolbar(page).get_by_role("button", name="Call", exact=True).click()
    expect(status(page)).to_have_text("Connected", timeout=15000)


def team(page, query):
    page.get_by_label("Search the Team Communicator").fill(query)


def test_dial_on_accept(server, setup, open_page, shot):
    setup["queue"].on_accept = AcceptAction.DIAL
    setup["queue"].save()
    page = open_page("alice", PASSWORD)
    ready(page)
    create(server, setup["token"], phone_number="+33612345678", customer_name="Camille Laurent")
    notification(page).get_by_role("button", name="Accept").click()
    # No Call click: Accept placed the call.
    expect(status(page)).to_have_text("Dialing")
    expect(history(page)).to_contain_text("Dialing +33 6 12 34 56 78 (attempt 1 of 3)")
    expect(toolbar(page).get_by_role("button", name="Call", exact=True)).to_have_count(0)
    with page.context.expect_page() as popup:
        page.get_by_role("link", name="Customer phone (simulator)").click()
    phone = popup.value
    phone.get_by_role("button", name="Answer").click()
    expect(status(page)).to_have_text("Connected")
    calm(page)
    shot(page, "dial-on-accept")


def test_conference_request_accepted_shows_the_target_busy_with_the_callback(server, setup, open_page, shot):
    alice = open_page("alice", PASSWORD)
    bob = open_page("bob", PASSWORD)
    connected_call(server, setup, alice, customer_name="Hugo Bernard", data={"reason": "Refund"})
    ready(bob)  # after Alice took the callback (the longest idle Ready agent gets it)
    team(alice, "bob")
    alice.get_by_role("button", name="Instant Call Conference with Bob").click()
    expect(alice.get_by_role("list", name="Conference parties")).to_contain_text("Bob — asked, waiting for an answer…")
    request = bob.get_by_role("alertdialog", name="Conference request")
    expect(request).to_contain_text("Alice asks you to join their call with Hugo Bernard")
    calm(bob)
    shot(bob, "conference-request")
    request.get_by_role("button", name="Accept").click()
    expect(bob.get_by_test_id("engaged")).to_have_text("Busy · in a conference")
    strip = bob.get_by_role("article", name="Conference")
    expect(strip.get_by_test_id("joined-status")).to_have_text("Connected")
    expect(strip.get_by_role("region", name="Joined call details")).to_contain_text("Refund")
    expect(strip).to_contain_text("Billing")
    expect(bob.get_by_text("Your desk is clear.")).to_be_hidden()
    expect(alice.get_by_role("list", name="Conference parties")).not_to_contain_text("waiting")
    expect(history(alice)).to_contain_text("Bob accepted: conference with Bob")
    shot(bob, "conference-joined-busy")
    strip.get_by_role("button", name="Leave Conference").click()
    expect(bob.get_by_test_id("engaged")).to_have_count(0)
    expect(bob.get_by_text("Your desk is clear.")).to_be_visible()


def test_conference_request_declined_tells_the_agent_why(server, setup, open_page):
    alice = open_page("alice", PASSWORD)
    bob = open_page("bob", PASSWORD)
    connected_call(server, setup, alice, customer_name="Inès Robert")
    ready(bob)
    team(alice, "bob")
    alice.get_by_role("button", name="Instant Call Conference with Bob").click()
    bob.get_by_role("alertdialog", name="Conference request").get_by_role("button", name="Decline").click()
    expect(alice.get_by_role("alert").filter(has_text="Bob declined the conference request.")).to_be_visible()
    expect(history(alice)).to_contain_text("Bob declined the conference")
    expect(status(alice)).to_have_text("Connected")


def test_consultation_with_a_typed_number_then_conference(server, setup, open_page, shot):
    alice = open_page("alice", PASSWORD)
    connected_call(server, setup, alice, customer_name="Hugo Bernard")
    toolbar(alice).get_by_role("button", name="Start Consultation").click()
    team(alice, "+33 6 98 76 54 32")
    alice.get_by_role("button", name=f"Start Consultation with {FAR_END}").click()
    expect(status(alice)).to_have_text("On Hold")
    consult = alice.get_by_role("group", name="Consultation")
    expect(consult.get_by_test_id("consult-state")).to_have_text("calling…")
    with alice.context.expect_page() as popup:
        consult.get_by_role("link", name="Far-end phone (simulator)").click()
    far_end = popup.value
    expect(far_end.get_by_text("you are the number an agent called")).to_be_visible()
    far_end.get_by_role("button", name="Answer").click()
    expect(consult.get_by_test_id("consult-state")).to_have_text("connected (customer on hold)")
    expect(history(alice)).to_contain_text("+33 6 98 76 54 32 answered: consultation connected")
    calm(alice)
    shot(alice, "consultation-typed-number")
    consult.get_by_role("button", name="Conference +33 6 98 76 54 32").click()
    expect(status(alice)).to_have_text("Connected")
    expect(alice.get_by_role("list", name="Conference parties")).to_contain_text("+33 6 98 76 54 32")
    expect(history(alice)).to_contain_text("Conference with +33 6 98 76 54 32 after consultation")


def test_consultation_with_a_typed_number_then_transfer(server, setup, open_page):
    alice = open_page("alice", PASSWORD)
    connected_call(server, setup, alice, customer_name="Léa Moreau")
    team(alice, "+33 6 98 76 54 32")
    alice.get_by_role("button", name=f"Start Consultation with {FAR_END}").click()
    consult = alice.get_by_role("group", name="Consultation")
    with alice.context.expect_page() as popup:
        consult.get_by_role("link", name="Far-end phone (simulator)").click()
    popup.value.get_by_role("button", name="Answer").click()
    consult.get_by_role("button", name="Transfer to +33 6 98 76 54 32").click()
    expect(alice.get_by_text("Your desk is clear.")).to_be_visible()


def test_conference_with_a_typed_number(server, setup, open_page, shot):
    alice = open_page("alice", PASSWORD)
    connected_call(server, setup, alice, customer_name="Hugo Bernard")
    toolbar(alice).get_by_role("button", name="Instant Call Conference").click()
    team(alice, "+33 6 98 76 54 32")
    alice.get_by_role("button", name=f"Instant Call Conference with {FAR_END}").click()
    parties = alice.get_by_role("list", name="Conference parties")
    expect(parties).to_contain_text("+33 6 98 76 54 32 — calling…")
    with alice.context.expect_page() as popup:
        parties.get_by_role("link", name="Far-end phone (simulator)").click()
    popup.value.get_by_role("button", name="Answer").click()
    expect(parties).not_to_contain_text("calling…")
    expect(parties.get_by_role("button", name="Remove +33 6 98 76 54 32")).to_be_visible()
    expect(history(alice)).to_contain_text("+33 6 98 76 54 32 answered: in the conference")
    calm(alice)
    shot(alice, "conference-typed-number")
