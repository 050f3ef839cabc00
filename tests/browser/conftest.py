"""Browser journeys: Debian's Chromium driven by Playwright against a real Daphne.

The server is a separate process (websockets need ASGI) on the test database,
so everything that should push to a browser goes through the server: the UI
or the HTTP API, never the ORM of the test process.
"""

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management.base import CommandError
from django.core.management.commands import flush

from tests.factories import database_url
from tests.servers import SmsGateway, daphne, free_port, stop

from .a11y import Axe

CHROMIUM = os.environ.get("RINGBACK_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"


class Server:
    def __init__(self, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.env = env  # settings of this server only (the SIP suite's second one runs the production path)

    def start(self):
        env = (
            dict(
                os.environ,
                DATABASE_URL=database_url(),
                RINGBACK_DISPATCHER="inprocess",
                RINGBACK_SWEEP_SECONDS="0.3",
                RINGBACK_CUSTOMER_POLL_SECONDS="2",  # the customer's page asks where it stands every 2 s, not 20
                EMAIL_BACKEND="tests.backends.GreylistingMailBackend",  # delivers, after a retry to a greylist. domain
                PYTHONUNBUFFERED="1",
            )
            | self.env
        )
        self.proc = daphne(self.port, env, f"browser-server-{self.port}.log")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1)
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise RuntimeError("Daphne did not start; see var/browser-server-*.log")

    def stop(self):
        if self.proc:
            stop(self.proc)
            self.proc = None

    def api(self, method: str, path: str, token: str, body: dict | None = None):
        req = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())


@pytest.fixture(scope="session", autouse=True)
def flush_retries_past_the_running_server():
    """The harness empties the tables between tests while the server under test keeps running its clock,
    task runner and renders; on PostgreSQL its TRUNCATE can deadlock with their SELECTs. Retry it."""
    original = flush.Command.handle

    def handle(self, *args, **options):
        for attempt in range(5):
            try:
                return original(self, *args, **options)
            except CommandError:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    flush.Command.handle = handle
    yield
    flush.Command.handle = original


@pytest.fixture(scope="session")
def sms_gateway():
    """A Twilio-compatible SMS gateway on localhost (tests/servers.py), the one the server under test texts through."""
    gateway = SmsGateway()
    yield gateway
    gateway.close()


@pytest.fixture(scope="session")
def server(django_db_setup, django_db_blocker, sms_gateway, oidc_provider):
    # One server texts through the gateway: a second one on the same database would run the same task rows, and
    # whichever took a text first would decide where it went. The same one signs in with the test OpenID Connect
    # provider (local passwords stay on for everyone, as the other journeys sign in with them).
    srv = Server(
        RINGBACK_SMS_BACKEND="http",
        RINGBACK_SMS_GATEWAY_URL=sms_gateway.url,
        RINGBACK_SMS_GATEWAY_ACCOUNT=sms_gateway.account,
        RINGBACK_SMS_GATEWAY_TOKEN=sms_gateway.token,
        RINGBACK_SMS_FROM="+33184880099",
        **oidc_provider.environment(),
    )
    oidc_provider.allow(srv.url)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's package (apt-get install -y chromium).")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def watch_csp(page, violations: list, who: str) -> None:
    """Collect Content-Security-Policy violations the page reports (the test fails on any)."""

    def seen(message):
        print(f"[{who} console] {message.text}")
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(f"{who}: {message.text}")

    page.on("console", seen)


def django_admin(page, server, username: str, password: str):
    """A second browser context beside `page`'s, signed in to Django admin (not Ringback's own page: axe-core does not
    check it); its page. Close its context when done."""
    context = page.context.browser.new_context(base_url=server.url, viewport={"width": 1360, "height": 900})
    admin = context.new_page()
    admin.goto("/admin/login/?next=/admin/")
    admin.get_by_label("Username").fill(username)
    admin.get_by_label("Password").fill(password)
    admin.get_by_role("button", name="Log in").click()
    return admin


@pytest.fixture
def csp_violations():
    found: list[str] = []
    yield found
    assert found == [], "the Content-Security-Policy blocked something"


def new_context(chromium, axe: Axe, who: str, *, continuous: bool = True, **options):
    """A browser context whose pages are checked by axe-core (motion reduced, as many agents set it)."""
    options.setdefault("viewport", {"width": 1360, "height": 820})
    context = chromium.new_context(reduced_motion="reduce", **options)
    axe.watch(context, who, continuous=continuous)
    return context


@pytest.fixture
def open_page(chromium, server, csp_violations, axe):
    contexts = []

    def make(username: str, password: str, **options):
        context = new_context(chromium, axe, username, base_url=server.url, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        watch_csp(page, csp_violations, username)
        page.goto("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("body[data-ws=open]")
        return page

    yield make
    axe.finish()
    for context in contexts:
        context.close()


@pytest.fixture
def shot(axe):
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str):
        axe.now(page)
        page.screenshot(path=str(SHOTS / f"{name}.png"))

    return take


@pytest.fixture
def billing_with_responses(transactional_db) -> str:
    """Billing with Alice, a standard response to insert ("Refund on its way"), and a website's API token."""
    from callbacks.models import ResponseCategory, StandardResponse
    from tests.factories import make_agent, make_api_client, make_queue

    queue = make_queue("billing", name="Billing", offer_timeout_seconds=30)
    make_agent("alice", queue)
    refunds = ResponseCategory.objects.create(name="Refunds")
    StandardResponse.objects.create(
        category=refunds, title="Refund on its way", body="Dear {first_name}, your refund for {reference} is on its way."
    )
    return make_api_client("Website")[1]
