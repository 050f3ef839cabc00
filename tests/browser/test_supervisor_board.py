"""The supervisor's live board in Chromium: it follows an agent working a callback in another browser context with
no reload, and a bulk reschedule from the work list takes effect."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from callbacks import roles
from callbacks.enums import CallbackState
from callbacks.models import CallbackRequest

from ..factories import PASSWORD, make_agent, make_api_client, make_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(transactional_db):
    roles.ensure_roles()
    queue = make_queue("billing", name="Billing", offer_timeout_seconds=60)
    alice = make_agent("alice", queue)
    sam = get_user_model().objects.create_user("sam", "sam@example.com", PASSWORD, first_name="Sam", last_name="Rivera")
    sam.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    queue.supervisors.add(sam)
    _, token = make_api_client("Website")
    return {"queue": queue, "alice": alice, "token": token}


def create(server, token, phone, name):
    status, data = server.api(
        "POST", "/api/v1/callbacks", token, {"queue": "billing", "phone_number": phone, "customer_name": name}
    )
    assert status == 201, data
    return data


def figure(page, name):
    return page.get_by_test_id(f"{name}-billing")


def test_the_board_follows_the_floor_live_and_a_bulk_reschedule_takes_effect(server, setup, open_page, shot):
    board = open_page("sam", PASSWORD)  # a supervisor lands on the live board
    expect(board.get_by_role("heading", name="Billing")).to_be_visible()
    expect(figure(board, "waiting")).to_have_text("0")
    alice = open_page("alice", PASSWORD)

    create(server, setup["token"], "+33612340012", "Camille Laurent")  # nobody is Ready: it waits (answers in 2 s)
    expect(figure(board, "waiting")).to_have_text("1")
    expect(board.get_by_test_id("oldest-billing")).to_have_text(re.compile(r"^\d+:\d\d$"))

    alice.get_by_label("Voice status").get_by_role("button", name="Ready", exact=True).click()  # offered to Alice
    expect(figure(board, "ringing")).to_have_text("1")
    expect(figure(board, "waiting")).to_have_text("0")
    agent_row = board.get_by_test_id(f"agent-{setup['alice'].pk}")
    expect(agent_row).to_contain_text("Ready")

    alice.get_by_role("alertdialog").get_by_role("button", name="Accept").click()
    expect(figure(board, "in-progress")).to_have_text("1")
    expect(figure(board, "ringing")).to_have_text("0")
    expect(agent_row.get_by_role("button", name="Listen to Alice")).to_have_count(0)  # no call to hear yet

    # Alice calls; the row follows the call (Dialling, then On a call with its time) and offers Listen.
    alice.get_by_role("button", name="Call", exact=True).click()
    call_pill = board.get_by_test_id(f"call-{setup['alice'].pk}")
    expect(call_pill).to_contain_text(re.compile(r"Dialling|On a call"))
    expect(call_pill).to_contain_text(re.compile(r"On a call \d+:\d\d"), timeout=15_000)
    expect(agent_row.get_by_role("button", name="Listen to Alice")).to_be_visible()
    shot(board, "supervisor-board-on-a-call")
    alice.get_by_role("button", name="End Call").click()
    expect(call_pill).to_have_count(0)
    expect(agent_row.get_by_role("button", name="Listen to Alice")).to_have_count(0)

    alice.get_by_role("button", name="Mark Done").click()
    expect(figure(board, "in-progress")).to_have_text("0")
    expect(figure(board, "handled")).to_have_text(re.compile(r"^1 · \d+ s$"))
    expect(figure(board, "sl")).to_have_text("100 %")
    # The change re-rendered Billing's tile alone; the charts (every queue, the whole day) follow unasked.
    expect(board.locator("#chart-dispositions")).not_to_contain_text("Nothing handled", timeout=20_000)
    shot(board, "supervisor-board")

    # Alice steps away; two more callbacks wait, and the supervisor moves them to tomorrow morning in one go.
    alice.get_by_label("Voice status").get_by_role("button", name="Not Ready").click()
    expect(agent_row).to_contain_text("Not Ready")
    first = create(server, setup["token"], "+33612345679", "Oliver Smith")
    second = create(server, setup["token"], "+33612345680", "Maya Patel")
    expect(figure(board, "waiting")).to_have_text("2")

    board.get_by_role("link", name="Work list").click()
    expect(board.get_by_role("heading", name=re.compile("Open callbacks"))).to_contain_text("(2)")
    board.get_by_label("Select every callback on this page").check()
    board.get_by_label("Action").select_option("reschedule")
    when = (timezone.localtime() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    board.get_by_label("New time").fill(when.strftime("%Y-%m-%dT%H:%M"))
    shot(board, "supervisor-worklist")
    board.get_by_role("button", name="Review…").click()
    expect(board.get_by_role("heading", name=re.compile(r"Reschedule to .*: 2 callbacks\?"))).to_be_visible()
    shot(board, "supervisor-confirm")
    board.get_by_role("button", name=re.compile("^Confirm")).click()
    expect(board.get_by_role("heading", name=re.compile("2 done"))).to_be_visible()

    for ref in (first["reference"], second["reference"]):
        cb = CallbackRequest.objects.get(reference=ref)
        assert (cb.state, cb.desired_time) == (CallbackState.SCHEDULED, when)

    # Oliver asked to wait for a letter first: the supervisor pauses his callback (kept, offered to nobody).
    board.get_by_role("link", name="Back to the work list").click()
    board.get_by_label(f"Select {first['reference']}").check()
    board.get_by_label("Action").select_option("pause")
    board.get_by_role("button", name="Review…").click()
    board.get_by_role("button", name=re.compile("^Confirm")).click()
    expect(board.get_by_role("heading", name=re.compile("1 done"))).to_be_visible()
    board.get_by_role("link", name="Back to the work list").click()
    expect(board.get_by_role("row", name=re.compile(first["reference"]))).to_contain_text("Paused")
    shot(board, "supervisor-worklist-paused")
    assert CallbackRequest.objects.get(reference=first["reference"]).paused_at is not None
    board.get_by_role("link", name="Live board").click()
    expect(figure(board, "waiting")).to_have_text("0")

    # The callback's page shows its whole trail, the supervisor's move included; reports show Alice's day.
    board.goto(f"/board/callbacks/{CallbackRequest.objects.get(reference=first['reference']).pk}/")
    trail = board.get_by_role("region", name="Audit trail")
    expect(trail).to_contain_text("Request received")
    expect(trail).to_contain_text("Moved by supervisor Sam Rivera")
    shot(board, "supervisor-callback-trail")
    board.get_by_role("link", name="Reports").click()
    expect(board.get_by_test_id("activity")).to_contain_text("Alice")
    shot(board, "supervisor-reports")

    # In French: the switch in the header; the board's live updates come in French too.
    board.get_by_label("Language").select_option("fr")
    board.get_by_role("button", name="Change language").click()
    expect(board.locator("html")).to_have_attribute("lang", "fr")
    expect(board.get_by_role("heading", name="Rapports")).to_be_visible()
    board.get_by_role("link", name="Tableau en direct").click()
    create(server, setup["token"], "+33612345681", "Léa Martin")
    expect(figure(board, "waiting")).to_have_text("1")  # pushed over the socket
    expect(board.locator("#figures dt").first).to_have_text("En attente")
    expect(agent_row).to_contain_text("Non prêt")
    shot(board, "supervisor-board-fr")
