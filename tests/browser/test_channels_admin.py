"""Channels as data through the pages (#23): an admin unticks a channel an agent works, in Django admin, and the
agent's desk drops it at once — the agent is logged out of it, and it is no longer theirs to go Ready on."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from callbacks.enums import AgentStatus
from callbacks.models import AgentChannelStatus

from ..factories import PASSWORD, make_agent, make_queue
from .conftest import SHOTS, django_admin
from .test_core_journeys import ready

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_unticks_web_callback_and_the_agents_desk_drops_it(server, open_page):
    queue = make_queue("billing", name="Billing")
    alice = make_agent("alice", queue)
    get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    page = open_page("alice", PASSWORD)
    ready(page)
    web = page.get_by_label("Web Callback status")
    expect(web).to_be_visible()

    admin = django_admin(page, server, "boss", PASSWORD)
    admin.goto(f"/admin/callbacks/agent/{alice.pk}/change/")
    expect(admin.get_by_label("Voice")).to_be_checked()
    admin.get_by_label("Web Callback").uncheck()
    admin.get_by_label("Web Callback").scroll_into_view_if_needed()
    admin.screenshot(path=str(SHOTS / "admin-agent-channels.png"))
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")
    admin.context.close()

    expect(web).to_have_count(0)  # pushed: the status bar no longer offers the channel
    row = AgentChannelStatus.objects.get(agent=alice, channel="web_callback")
    assert (row.enabled, row.status) == (False, AgentStatus.LOGGED_OUT)
