"""The desk for an eight-hour day: a whole callback by keyboard alone, focus that follows the work, attention when an
offer comes, and a layout that holds at 1366 × 768, at 1920 × 1080, narrow, and in the dark theme (axe-core checks
every state of every page here, as in every browser test)."""

import re

import pytest
from playwright.sync_api import expect

from callbacks.models import DispositionCode, PreviewField

from ..factories import PASSWORD, make_agent, make_api_client, make_queue
from .test_core_journeys import create, notification, ready

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(transactional_db):
    queue = make_queue("billing", name="Billing", offer_timeout_seconds=60)
    web = make_queue("web", name="Web sales", offer_timeout_seconds=60)
    alice = make_agent("alice", queue, web)
    DispositionCode.objects.create(code="resolved", label="Resolved", order=1)
    for section, key, label, order in [
        ("notification", "reason", "Reason", 1),
        ("case_info", "order_id", "Order", 1),
        ("case_info", "reason", "Nature of the request", 2),
        ("callback_info", "reason", "Reason for the call", 1),
        ("callback_info", "account_number", "Account number", 2),
        ("callback_info", "contract", "Contract", 3),
    ]:
        PreviewField.objects.create(section=section, key=key, label=label, order=order)
    _, token = make_api_client("Website")
    return {"queue": queue, "alice": alice, "token": token}


def focused(page) -> str:
    return page.evaluate("document.activeElement ? (document.activeElement.textContent || '').trim() : ''")


def test_a_whole_callback_by_keyboard_alone(server, setup, open_page, shot):
    page = open_page("alice", PASSWORD)
    keys = []

    def press(key):
        keys.append(key)
        page.keyboard.press(key)

    press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    shot(page, "workspace-shortcuts")
    press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
    press("1")  # Voice: Ready
    expect(page.get_by_test_id("status-voice")).to_have_text("Ready")
    create(server, setup["token"], phone_number="+33612340011", customer_name="Camille Laurent", data={"reason": "Refund"})
    toast = notification(page)
    expect(toast).to_contain_text("Camille Laurent")
    # The new offer takes focus, is announced, counts in the tab title, and chimes.
    expect(toast.get_by_role("button", name="Accept")).to_be_focused()
    expect(page.locator("#announce-assertive")).to_contain_text("Camille Laurent")
    expect(page).to_have_title(re.compile(r"^\(1\) Offer waiting"))
    expect(page.locator("body")).to_have_attribute("data-chimed", "1")
    press("Enter")  # Accept
    window = page.locator("[data-interaction]")
    expect(window).to_be_visible()
    # After Accept, focus is on the interaction's first action.
    expect(window.get_by_role("button", name="Call", exact=True)).to_be_focused()
    expect(page).not_to_have_title(re.compile(r"^\("))
    press("Enter")  # Call: …0011 answers after a second
    expect(page.get_by_test_id("call-status")).to_have_text("Connected", timeout=10000)
    expect(page.locator("#announce-polite")).to_contain_text("Call status: Connected")
    press("h")
    expect(page.get_by_test_id("call-status")).to_have_text("On Hold")
    # Hold became Resume Call: focus stays in the window's actions, not on the page's body.
    expect(window.locator(".toolbar :focus")).to_have_count(1)
    press("h")
    expect(page.get_by_test_id("call-status")).to_have_text("Connected")
    press("n")
    expect(window.get_by_label("Note")).to_be_focused()
    page.keyboard.type("Refund confirmed.")  # typed text, not counted as commands
    press("Tab")
    press("Enter")  # Add Note
    expect(window.get_by_role("list", name="Case history")).to_contain_text("Note: Refund confirmed.")
    press("e")  # End Call
    expect(page.get_by_test_id("call-status")).to_have_text("Ready to Call")
    press("d")  # Mark Done
    expect(page.get_by_text("Your desk is clear.")).to_be_visible()
    # From Ready to Mark Done, with a hold, a resume and a note: 10 keys (and 2 to look at the shortcuts first).
    assert len(keys) == 12, keys
    print(f"keystrokes from Ready to Mark Done: {len(keys) - 2} ({' '.join(keys[2:])}), plus the note's text")


def test_the_desk_at_1366_by_768_shows_status_actions_dispositions_and_note_without_scrolling(server, setup, open_page, shot):
    page = open_page("alice", PASSWORD, viewport={"width": 1366, "height": 768})
    ready(page, "Web Callback")
    create(
        server,
        setup["token"],
        queue="web",
        channel="web_callback",
        type="delayed",
        phone_number="+390612345678",
        customer_name="Nina Rossi",
        instructions="Prefers Italian or English.",
        data={"order_id": "ORD-55102", "reason": "Question about my order", "account_number": "IT-4410", "contract": ""},
    )
    notification(page).get_by_role("button", name="Accept").click()
    window = page.locator("[data-interaction]")
    expect(window.get_by_role("region", name="Callback Information")).to_be_visible()
    in_view = [
        page.get_by_role("navigation", name="My status"),
        window.get_by_test_id("call-status"),
        window.get_by_role("toolbar"),
        window.get_by_label("Disposition", exact=True),
        window.get_by_role("button", name="Set disposition"),
        window.get_by_label("Note"),
        window.get_by_role("button", name="Add Note"),
    ]
    for locator in in_view:
        box = locator.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 768, (locator, box)
    assert page.evaluate("window.scrollY") == 0
    toolbar = window.get_by_role("toolbar").bounding_box()
    assert toolbar["height"] < 50, toolbar  # one row of actions
    # Each value once, and no empty rows.
    expect(window.get_by_text("Question about my order")).to_have_count(1)
    expect(window.get_by_text("Contract")).to_have_count(0)
    shot(page, "desk-1366x768-web-callback")


def test_the_desk_at_1920_by_1080_narrow_and_dark(server, setup, open_page, shot):
    wide = open_page("alice", PASSWORD, viewport={"width": 1920, "height": 1080})
    ready(wide)
    create(server, setup["token"], phone_number="+12125550199", customer_name="Maya Patel", data={"reason": "Card lost"})
    expect(notification(wide)).to_contain_text("As soon as possible")
    shot(wide, "desk-1920x1080-notification")
    notification(wide).get_by_role("button", name="Accept").click()
    expect(wide.get_by_role("region", name="Callback Information")).to_contain_text("As soon as possible")
    shot(wide, "desk-1920x1080-callback")
    wide.context.close()
    dark = open_page("alice", PASSWORD, color_scheme="dark", viewport={"width": 1366, "height": 768})
    expect(dark.locator("[data-interaction]")).to_be_visible()
    background = dark.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(20, 24, 29)", background  # the dark theme follows the system setting
    shot(dark, "desk-1366x768-dark")
    dark.context.close()
    narrow = open_page("alice", PASSWORD, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    expect(narrow.locator("[data-interaction]")).to_be_visible()
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 390
    shot(narrow, "desk-narrow")


# The page as a hidden tab would see it (headless Chromium's tabs are always visible), and a record of each desktop
# notification it raises: the real Notification is still constructed, so a wrong call still fails.
HIDDEN_TAB_AND_NOTIFICATIONS = """(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => hidden });
  Object.defineProperty(Document.prototype, "visibilityState", { configurable: true, get: () => hidden ? "hidden" : "visible" });
  window.__hide = (value) => { hidden = value; document.dispatchEvent(new Event("visibilitychange")); };
  window.__notes = [];
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, body: options.body, tag: options.tag, clickable: typeof this.onclick });
      window.__lastNote = this;
    }
    static requestPermission() {
      window.__asked = (window.__asked || 0) + 1;
      return Real.requestPermission();
    }
  };
})()"""


def test_a_desktop_notification_only_when_the_agent_allowed_it_and_the_tab_is_hidden(server, setup, open_page):
    page = open_page("alice", PASSWORD)
    page.context.add_init_script(HIDDEN_TAB_AND_NOTIFICATIONS)
    page.reload()
    page.wait_for_selector("body[data-ws=open]")
    alerts = page.get_by_role("button", name="Turn on desktop alerts")
    expect(alerts).to_be_visible()
    assert page.evaluate("() => window.__asked") is None, "asked only when the agent chooses: never a prompt on load"
    alerts.click()
    page.wait_for_function("() => window.__asked === 1")
    page.context.grant_permissions(["notifications"], origin=server.url)  # the agent said yes
    page.reload()
    page.wait_for_selector("body[data-ws=open]")
    expect(alerts).to_be_hidden()  # answered: the button is gone for good
    ready(page)
    create(server, setup["token"], phone_number="+33612340021", customer_name="Camille Laurent")
    expect(notification(page)).to_contain_text("Camille Laurent")
    expect(page.locator("body")).to_have_attribute("data-chimed", "1")
    assert page.evaluate("window.__notes") == [], "the tab is in front: the sound and the toast are enough"
    notification(page).get_by_role("button", name="Accept").click()
    page.get_by_role("button", name="Mark Done").click()
    expect(page.get_by_text("Your desk is clear.")).to_be_visible()
    page.evaluate("window.__hide(true)")
    create(server, setup["token"], phone_number="+33612340022", customer_name="Noé Martin")
    page.wait_for_function("() => window.__notes.length === 1")
    note = page.evaluate("window.__notes[0]")
    assert note["title"] == "New Callback · Billing" and note["body"].startswith("Noé Martin"), note
    assert note["tag"].startswith("offer-")
    assert page.evaluate("typeof window.__lastNote.onclick") == "function", "clicking it brings the desk forward"
    expect(page).to_have_title(re.compile(r"^\(1\) Offer waiting"))
    assert page.evaluate("window.__notes.length") == 1, "one notification per offer, not one per push"
