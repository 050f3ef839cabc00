"""Two-factor sign-in in Chromium: an agent sets up an authenticator app (QR code and secret, under the site's
Content-Security-Policy and axe-core), is shown their recovery codes, then signs in with the password and one of them
(a wrong app code first: refused, and it makes only the app's codes wait)."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from ..factories import PASSWORD, make_agent, make_queue
from .conftest import new_context, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_sets_up_an_authenticator_then_signs_in_with_a_recovery_code(
    server, chromium, axe, csp_violations, open_page, shot
):
    make_agent("alice", make_queue("billing", name="Billing"))
    desk = open_page("alice", PASSWORD)
    with desk.context.expect_page() as opened:  # the desk's header: the agent's name opens it in a new tab
        desk.get_by_role("link", name="Alice").click()
    page = opened.value
    expect(page).to_have_url(f"{server.url}/account/two-factor/")
    expect(page.get_by_role("img", name="QR code of the secret for an authenticator app")).to_be_visible()
    shot(page, "two-factor-setup")

    device = TOTPDevice.objects.get(user__username="alice")
    page.get_by_label("Code from the app").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    recovery = codes.first.inner_text().strip()
    shot(page, "two-factor-recovery-codes")

    # A second browser: the password leads to the code step, not the workspace.
    context = new_context(chromium, axe, "alice-again", base_url=server.url)
    again = context.new_page()
    watch_csp(again, csp_violations, "alice-again")
    again.goto("/login/")
    again.get_by_label("Username").fill("alice")
    again.get_by_label("Password").fill(PASSWORD)
    again.get_by_role("button", name="Sign in").click()
    expect(again.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    again.get_by_label("Code").fill(f"{totp(device.bin_key, drift=5):06d}")  # the app's code of 2½ minutes from now
    again.get_by_role("button", name="Verify").click()
    expect(again.get_by_role("alert")).to_contain_text("That code is not right")
    shot(again, "two-factor-code-step")
    again.get_by_label("Code").fill(recovery)
    again.get_by_role("button", name="Verify").click()
    again.wait_for_selector("body[data-ws=open]")  # the workspace, signed in
    context.close()
