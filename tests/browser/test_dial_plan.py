"""The dial plan through the pages (issue #22): an admin narrows a queue's dial plan in Django admin, with a clear
refusal for a prefix that is not one, and the agent reads why Call is refused for a number outside it."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from callbacks.models import Queue

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
    admin.context.close()

    toolbar(page).get_by_role("button", name="Call", exact=True).click()
    refusal = page.get_by_role("alert").filter(has_text="dial plan")
    expect(refusal).to_contain_text("+33 6 12 34 56 78 is outside Billing's dial plan (+32, +352).")
    expect(status(page)).to_have_text("Ready to Call")
    shot(page, "desk-dial-plan-refused")
