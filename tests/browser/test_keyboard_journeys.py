"""Keyboard journeys beyond the desk (#24): the supervisor sets an agent Not Ready from the live board, and a customer
requests a callback, follows the link and cancels it — with the keyboard alone, counting the keys, and with focus
never lost after a push or a swap. The counts are in the documentation (docs/supervision.md, docs/intake.md)."""

import re
import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from callbacks import roles
from callbacks.enums import AgentStatus, CallbackState
from callbacks.models import AgentChannelStatus, CallbackRequest

from ..factories import PASSWORD, make_agent, make_callback, make_queue
from .test_public_page import phone  # noqa: F401  (the customer's phone, a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Keyboard:
    """Presses keys on a page and counts them; typing a field's text counts as one step, as on the desk."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.count += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.count += 1

    def tab_to(self, locator, limit: int = 60) -> None:
        for _ in range(limit):
            if locator.evaluate("el => el === document.activeElement"):
                return
            self.press("Tab")
        raise AssertionError(f"{limit} Tabs did not reach {locator}")


def focused(page):
    return page.locator(":focus")


@pytest.fixture
def floor(transactional_db):
    roles.ensure_roles()
    queue = make_queue("billing", name="Billing")
    alice = make_agent("alice", queue)
    sam = get_user_model().objects.create_user("sam", "sam@example.com", PASSWORD, first_name="Sam", last_name="Rivera")
    sam.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    queue.supervisors.add(sam)
    return {"queue": queue, "alice": alice}


def test_a_supervisor_sets_an_agent_not_ready_from_the_board_by_keyboard(server, floor, open_page):
    alice = floor["alice"]
    AgentChannelStatus.objects.create(agent=alice, channel="voice", status=AgentStatus.READY, since=timezone.now())
    board = open_page("sam", PASSWORD)
    board.goto("/board/")
    board.wait_for_selector("body[data-ws=open]")
    row = board.get_by_test_id(f"agent-{alice.pk}")
    status = row.locator(".pill").first
    expect(status).to_have_text("Ready")
    keys = Keyboard(board)
    not_ready = row.get_by_role("button", name="Not Ready")
    keys.tab_to(not_ready)
    board.once("dialog", lambda dialog: dialog.accept())  # "Set Alice Not Ready on every channel?": Enter says yes
    keys.press("Enter")
    keys.count += 1  # the confirmation's Enter
    expect(status).to_have_text("Not Ready · Set by a supervisor")  # pushed: the figures are rendered again
    assert AgentChannelStatus.objects.get(agent=alice, channel="voice").status == AgentStatus.NOT_READY
    # Focus is where it was, on the row's Not Ready button, after the push replaced it.
    expect(focused(board)).to_have_attribute("value", "not_ready")
    expect(focused(board)).to_have_text("Not Ready")
    assert keys.count <= 25, keys.count
    print(f"board → Alice → Not Ready: {keys.count} keys")


def test_a_customer_requests_follows_the_link_and_cancels_by_keyboard(server, phone):  # noqa: F811
    make_queue("sales", name="Sales")
    page = phone
    page.goto("/request/sales/")
    page.wait_for_url(re.compile(r"tz="))
    keys = Keyboard(page)
    keys.tab_to(page.get_by_label("Phone number"))  # "As soon as possible" is already chosen
    keys.type("+33 6 12 34 56 78")
    keys.press("Tab")
    expect(page.get_by_label("Your name")).to_be_focused()
    keys.type("Nina Rossi")
    keys.press("Enter")  # sends the form
    expect(page.get_by_role("heading", name="Thank you, we will call you")).to_be_visible()
    link = page.locator("p.link a")
    keys.tab_to(link)
    keys.press("Enter")
    expect(page.get_by_test_id("state")).to_be_visible()
    cancel = page.get_by_role("button", name="Cancel my request")
    keys.tab_to(cancel)
    page.once("dialog", lambda dialog: dialog.accept())
    keys.press("Enter")
    keys.count += 1  # the confirmation's Enter
    expect(page.get_by_role("status")).to_have_text("Your request is cancelled.")
    assert CallbackRequest.objects.get().state == CallbackState.CANCELLED
    assert keys.count <= 30, keys.count
    print(f"request → booked → manage → cancel: {keys.count} keys")


def test_a_supervisor_reschedules_two_callbacks_from_the_work_list_by_keyboard(server, floor, open_page):
    queue = floor["queue"]
    made = []
    requests = [("+33612345001", "Oliver Smith"), ("+33612345002", "Maya Patel"), ("+33612345003", "Left Alone")]
    # In a thread of its own: this one runs the browser's event loop, where the board's push could not be sent.
    worker = threading.Thread(target=lambda: made.extend(make_callback(queue, phone=n, customer_name=c) for n, c in requests))
    worker.start()
    worker.join(30)
    first, second, third = made
    page = open_page("sam", PASSWORD)
    page.goto("/board/callbacks/")
    expect(page.get_by_role("heading", name=re.compile("Open callbacks"))).to_contain_text("(3)")
    keys = Keyboard(page)
    # The page's first stop skips to the list; Enter takes it.
    keys.press("Tab")
    expect(focused(page)).to_have_text("Skip to the list")
    keys.press("Enter")
    # Reschedule is the first action: Tab to the new time and type it into its fields (Chromium's en-US order:
    # mm/dd/yyyy, then Tab past the year, which takes up to six digits, to hh:mm AM), then to the two rows, each
    # ticked with Space, and back up to Review.
    when = (timezone.localtime() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    time_field = page.get_by_label("New time")
    keys.tab_to(time_field)
    keys.type(when.strftime("%m%d%Y"))
    keys.press("Tab")
    keys.type(when.strftime("%I%M") + when.strftime("%p")[0])
    expect(time_field).to_have_value(when.strftime("%Y-%m-%dT%H:%M"))
    for callback in (first, second):
        keys.tab_to(page.get_by_label(f"Select {callback.reference}"))
        keys.press("Space")
    expect(page.get_by_label(f"Select {third.reference}")).not_to_be_checked()
    review = page.get_by_role("button", name="Review…")
    for _ in range(8):
        if review.evaluate("el => el === document.activeElement"):
            break
        keys.press("Shift+Tab")
    expect(review).to_be_focused()
    keys.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(r"Reschedule to .*: 2 callbacks\?"))).to_be_visible()
    confirm = page.get_by_role("button", name=re.compile("^Confirm"))
    expect(confirm).to_be_focused()  # the confirmation opens on its button: Enter confirms
    keys.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("2 done"))).to_be_visible()
    for callback in (first, second):
        callback.refresh_from_db()
        assert (callback.state, callback.desired_time) == (CallbackState.SCHEDULED, when)
    third.refresh_from_db()
    assert third.state == CallbackState.QUEUED
    assert keys.count <= 25, keys.count
    print(f"work list → select two → reschedule → confirm: {keys.count} keys")
