"""Web Callback in Chromium: preview first, then the call; scheduling in the window; directory; responses."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from callbacks.models import DispositionCode, PreviewField, ResponseCategory, StandardResponse

from ..factories import PASSWORD, make_agent, make_api_client, make_queue
from .test_core_journeys import create, notification, ready

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(transactional_db):
    queue = make_queue("web", name="Web sales")
    alice = make_agent("alice", queue)
    PreviewField.objects.create(section="case_info", key="order_id", label="Order", order=1)
    PreviewField.objects.create(section="case_info", key="reason", label="Nature of the request", order=2)
    PreviewField.objects.create(section="callback_info", key="product", label="Product", order=1)
    DispositionCode.objects.create(code="sold", label="Sale made", order=1)
    cat = ResponseCategory.objects.create(name="Greetings")
    StandardResponse.objects.create(
        category=cat, title="Callback opening", body="Hello {first_name}, this is {agent_name} calling you back."
    )
    _, token = make_api_client("Website")
    return {"queue": queue, "alice": alice, "token": token}


def web_request(server, token, **kw):
    # Available from an hour ago until 17:00 tomorrow (Rome): it rings now, and can be scheduled inside the window.
    rome = timezone.now().astimezone(ZoneInfo("Europe/Rome"))
    start = rome.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    end = (rome + timedelta(days=1)).replace(hour=17, minute=0, second=0, microsecond=0)
    body = {
        "queue": "web",
        "channel": "web_callback",
        "type": "delayed",
        "customer_name": "Nina Rossi",
        "customer_timezone": "Europe/Rome",
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "data": {"order_id": "ORD-55102", "reason": "Question about my order", "product": "Espresso machine"},
    }
    body.update(kw)
    return create(server, token, **body)


def open_preview(page, server, token, **kw):
    ready(page, "Web Callback")
    web_request(server, token, **kw)
    toast = notification(page)
    expect(toast).to_contain_text("Web Callback")
    toast.get_by_role("button", name="Accept").click()
    expect(page.get_by_test_id("window-kind")).to_have_text("Web Callback Interaction Preview")


def test_web_callback_preview_then_call_then_done_with_a_disposition(server, setup, open_page, shot):
    page = open_page("alice", PASSWORD)
    open_preview(page, server, setup["token"], phone_number="+390612340012")  # …0012: answers after 2 s
    case = page.get_by_role("region", name="Case Information")
    expect(case).to_contain_text("ORD-55102")
    expect(case).to_contain_text("Question about my order")
    expect(page.get_by_role("heading", name="Nina Rossi")).to_be_visible()
    info = page.get_by_role("region", name="Callback Information")
    expect(info).to_contain_text("Espresso machine")
    expect(info).to_contain_text("17:00")  # availability window (Rome and Paris keep the same clock)
    # Each value once: the reason and the order are in Case Information, not again under the attached data.
    expect(page.get_by_text("Question about my order")).to_have_count(1)
    expect(page.get_by_text("ORD-55102")).to_have_count(1)
    preview = page.get_by_role("toolbar", name="Call Preview Actions")
    expect(preview.get_by_role("button", name="Done")).to_be_visible()
    expect(preview.get_by_role("button", name="Schedule a Callback")).to_be_visible()
    shot(page, "web-callback-preview")
    preview.get_by_role("button", name="Call", exact=True).click()
    expect(page.get_by_test_id("window-kind")).to_have_text("Web Callback Interaction")
    expect(page.get_by_test_id("call-status")).to_have_text("Connected", timeout=10000)
    page.get_by_role("toolbar", name="Call actions").get_by_role("button", name="End Call").click()
    expect(page.get_by_test_id("call-status")).to_have_text("Ready to Call")
    page.get_by_label("Disposition", exact=True).select_option(label="Sale made")
    page.get_by_role("button", name="Set disposition").click()
    expect(page.get_by_test_id("disposition")).to_have_text("Sale made")
    page.get_by_role("button", name="Done", exact=True).click()
    expect(page.get_by_text("Your desk is clear.")).to_be_visible()


def test_schedule_a_callback_inside_the_availability_window(server, setup, open_page, shot):
    page = open_page("alice", PASSWORD)
    open_preview(page, server, setup["token"], phone_number="+390612345678")
    page.get_by_role("button", name="Schedule a Callback").click()
    day = (timezone.now() + timedelta(days=1)).astimezone(ZoneInfo("Europe/Rome")).strftime("%Y-%m-%d")
    expect(page.get_by_label("Free time, customer's zone")).to_be_visible()  # the free slots, loaded on opening
    shot(page, "workspace-schedule-slots")
    picker = page.get_by_label("Or another time, customer's zone (Europe/Rome)")
    picker.fill(f"{day}T19:00")  # after the window closes at 17:00
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="The customer is available")).to_be_visible()
    # The picker stays open with the agent's input, to correct the time.
    expect(page.get_by_label("Or another time, customer's zone (Europe/Rome)")).to_have_value(f"{day}T19:00")
    page.get_by_label("Or another time, customer's zone (Europe/Rome)").fill(f"{day}T15:30")
    page.get_by_label("Personal callback (I call back myself)").check()
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.get_by_text("Your desk is clear.")).to_be_visible()
    expect(page.get_by_role("region", name="My callbacks")).to_contain_text("Nina Rossi")


def test_editing_a_contact_shows_in_its_history(server, setup, open_page, shot):
    page = open_page("alice", PASSWORD)
    open_preview(page, server, setup["token"], phone_number="+390612345679")
    with page.context.expect_page() as popup:
        page.get_by_role("region", name="Contact").get_by_role("link", name="Nina Rossi").click()
    contact = popup.value
    contact.get_by_label("E-mail addresses (one per line)").fill("nina@example.com")
    contact.get_by_label("Phone numbers (one per line)").fill("+39 06 1234 5679\n+39 333 123 4567")
    contact.get_by_label("Notes").fill("Prefers afternoons")
    contact.get_by_role("button", name="Save contact").click()
    expect(contact.get_by_role("status")).to_have_text("Contact saved.")
    history = contact.get_by_role("list", name="Contact history")
    expect(history).to_contain_text("Contact edited (notes, phones, emails)")
    expect(history).to_contain_text("Delayed web callback requested via API")  # the request's own history is there too
    shot(contact, "contact-directory")
    contact.get_by_label("Phone numbers (one per line)").fill("12")
    contact.get_by_role("button", name="Save contact").click()
    expect(contact.get_by_role("alert")).to_contain_text("is not a valid phone number")


def test_inserting_a_response_into_a_note(server, setup, open_page):
    page = open_page("alice", PASSWORD)
    open_preview(page, server, setup["token"], phone_number="+390612345670")
    page.get_by_label("Search responses").fill("opening")
    page.get_by_role("button", name="Insert into note: Callback opening").click()
    expect(page.get_by_label("Note", exact=True)).to_have_value("Hello Nina, this is Alice calling you back.")
    page.get_by_role("button", name="Add Note").click()
    expect(page.get_by_role("list", name="Case history")).to_contain_text("Note: Hello Nina, this is Alice calling you back.")
