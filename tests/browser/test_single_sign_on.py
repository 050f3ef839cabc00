"""Single sign-on in Chromium: an agent signs in on the real test provider's own login page (tests/oidc_provider),
works one callback (Accept, Mark Done), signs out of Ringback and, through RP-initiated logout, of the provider too.
Ringback's pages are checked by axe-core and under the site's Content-Security-Policy as everywhere."""

import pytest
from playwright.sync_api import expect

from ..factories import PASSWORD, make_api_client, make_queue
from .conftest import new_context, watch_csp
from .test_core_journeys import create, notification, ready

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(chromium, server, axe, csp_violations):
    contexts = []

    def make(who: str):
        context = new_context(chromium, axe, who, base_url=server.url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        watch_csp(page, csp_violations, who)
        return page

    yield make
    axe.finish()
    for context in contexts:
        context.close()


def at_the_provider(page, username: str) -> None:
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("Provider username").fill(username)
    page.get_by_label("Provider password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()


def test_an_agent_signs_in_through_the_provider_works_a_callback_and_signs_out(server, oidc_provider, browser_page, shot):
    make_queue("billing", name="Billing", offer_timeout_seconds=30)
    _, token = make_api_client("Website")
    oidc_provider.user("nadia", PASSWORD, ["callback-agents"], ["billing"], name="Nadia Haddad")
    page = browser_page("nadia")
    page.goto("/login/")
    provider = page.get_by_role("link", name="Sign in with Test ID")
    expect(provider).to_be_visible()
    shot(page, "sso-login")
    provider.click()
    at_the_provider(page, "nadia")
    page.wait_for_selector("body[data-ws=open]")  # back in Ringback's workspace, signed in, the websocket open

    ready(page)
    create(server, token, phone_number="+33612345678", customer_name="Camille Laurent")
    notification(page).get_by_role("button", name="Accept").click()
    expect(page.locator("[data-interaction] .window-head")).to_contain_text("+33 6 12 34 56 78")
    page.get_by_role("button", name="Mark Done").click()
    expect(page.get_by_text("Your desk is clear.")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{server.url}/login/")  # through the provider's end_session_endpoint, back to sign-in
    expect(provider).to_be_visible()
    provider.click()  # signed out at the provider too: it asks for the password again
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()


def test_a_person_without_a_ringback_group_is_told_why(server, oidc_provider, browser_page, shot):
    oidc_provider.user("mo", PASSWORD, ["marketing"])
    page = browser_page("mo")
    page.goto("/login/")
    page.get_by_role("link", name="Sign in with Test ID").click()
    at_the_provider(page, "mo")
    expect(page.get_by_role("alert")).to_contain_text("gives you no Ringback role")
    shot(page, "sso-refused")
