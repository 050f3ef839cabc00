"""The softphone against real SIP: kamailio, rtpengine and baresip customer lines (`bench.sipstack`), Ringback
with the browser softphone adapter, and Chromium with fake media — all inside a private network namespace whose
only interface is loopback (`scripts/test` starts this run through `scripts/_sipns`), where Chromium offers
127.0.0.1 as its ICE candidate.

Outside such a namespace (RINGBACK_SIP_NETNS unset) the whole directory is skipped.
"""

import os
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from bench.cluster import Service
from bench.sipstack import KAMAILIO, SipStack, sip_available
from callbacks.lifecycle.voice import voice_lines
from callbacks.telephony.sip import health as sip_health
from tests.browser.conftest import ARGS, CHROMIUM, Server, new_context
from tests.factories import PASSWORD, database_url, make_agent, make_api_client, make_queue

ROTATING = {"RINGBACK_SIP_SECRET_PREVIOUS": "previous-sip-secret-being-rotated-out-000"}  # kamailio takes both
RING_SECONDS = 6  # kamailio gives up on an unanswered call (408) after this

SIP_ARGS = [
    *ARGS,
    "--allow-loopback-in-peer-connection",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--ignore-certificate-errors",  # kamailio's WSS has a throwaway certificate (production_server's pages)
]


def pytest_collection_modifyitems(config, items):
    # The production path runs first, with its own Ringback and SIP stack, before the suite's session-wide ones
    # start: two Ringback processes on one database would race to route its callback.
    items.sort(key=lambda item: Path(str(item.fspath)).name != "test_production_path.py")
    here = Path(__file__).parent
    reason = None
    if os.environ.get("RINGBACK_SIP_NETNS") != "1":
        reason = "real SIP runs in a private network namespace (scripts/test runs it through scripts/_sipns)"
    elif not sip_available():
        reason = "kamailio, rtpengine and baresip are Debian packages that scripts/test installs"
    if reason:
        for item in items:
            if here in Path(str(item.fspath)).parents:
                item.add_marker(pytest.mark.skip(reason=reason))


# The suite's kamailio sends numbers it does not know to a carrier (tests/sip/carrier.cfg, a second kamailio on
# 127.0.0.2), trusts that carrier's address, and answers its challenge with the trunk's account.
TRUNK = {
    "RINGBACK_SIP_TRUNK": "127.0.0.2:5060",
    "RINGBACK_SIP_TRUNK_ADDRESSES": "127.0.0.2",
    "RINGBACK_SIP_TRUNK_USERNAME": "ringback",
    "RINGBACK_SIP_TRUNK_REALM": "carrier.test",
    "RINGBACK_SIP_TRUNK_PASSWORD": "carrier-secret",
}


# Texts go as SIP MESSAGE through the suite's kamailio, from this number; texts to it come back to Ringback.
TEXTS = {"RINGBACK_SMS_BACKEND": "sip", "RINGBACK_SMS_FROM": "+33184880099"}


@pytest.fixture(scope="session")
def recording_folders(tmp_path_factory) -> dict[str, str]:
    """Where rtpengine spools recorded calls (pcap, in userspace: nothing until a call is recorded), and where
    Ringback keeps the recordings it made of them."""
    folder = tmp_path_factory.mktemp("recordings")
    return {"RINGBACK_RTPENGINE_RECORDING_DIR": str(folder / "spool"), "RINGBACK_RECORDINGS_DIR": str(folder / "kept")}


@pytest.fixture(scope="session")
def server(django_db_setup, django_db_blocker, recording_folders):
    """The browser journeys' Daphne on the test database, with this run's settings, texting by SIP."""
    srv = Server(**TEXTS, **recording_folders)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def carrier(tmp_path_factory):
    """The carrier behind the trunk, running until it answers an OPTIONS."""
    folder = tmp_path_factory.mktemp("carrier")
    service = Service(
        "carrier", [KAMAILIO, "-DD", "-E", "-f", str(Path(__file__).with_name("carrier.cfg"))], dict(os.environ), folder / "log"
    )
    service.start()
    deadline = time.monotonic() + 15
    while not _answers_options("127.0.0.2", 5060):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the carrier did not start: {(folder / 'log').read_text()[-2000:]}")
    yield service
    service.stop()


def _answers_options(host: str, port: int) -> bool:
    try:
        return sip_health.options(host, port, timeout=0.5).startswith("SIP/2.0")
    except OSError:
        return False


def running_stack(server, folder, env: dict, **options):
    """kamailio, rtpengine (and coturn when `env` has TURN) for `server`'s pages, reporting to it; stopped after."""
    stack = SipStack(
        folder, env, events_url=f"{server.url}/sip/events", ring_seconds=RING_SECONDS, origins=(server.url,), **options
    ).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def sip(server, carrier, tmp_path_factory, recording_folders):
    folder = tmp_path_factory.mktemp("sip")
    yield from running_stack(server, folder, dict(os.environ) | ROTATING | TRUNK | TEXTS | recording_folders)


@pytest.fixture(scope="session")
def voice(server, sip):
    """Ringback's voice application (`manage.py voice`) on the test database, its lines registered at the suite's
    kamailio: calls to an entry number reach its menu."""
    env = dict(os.environ) | ROTATING | {"DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1"}
    service = Service("voice", [sys.executable, "manage.py", "voice"], env, sip.workdir / "voice.log").start()
    deadline = time.monotonic() + 60
    ready = f"{len(voice_lines())} of {len(voice_lines())} lines registered"
    while ready not in service.log_path.read_text(errors="replace"):
        if time.monotonic() > deadline or not service.alive:
            service.stop()
            raise RuntimeError(f"the voice application did not register: {service.log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=SIP_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def floor(transactional_db):
    queue = make_queue("billing", name="Billing", offer_timeout_seconds=60)
    make_agent("alice", queue)
    _, token = make_api_client("Website")
    return token


def signed_in(browser, server, axe, username: str):
    """A new context of `browser` (checked by axe-core on demand) signed in as `username`: (context, page)."""
    context = new_context(browser, axe, username, base_url=server.url, continuous=False)
    page = context.new_page()
    page.set_default_timeout(20000)
    page.on("console", lambda m: print(f"[{username} console] {m.text}"))
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return context, page


@pytest.fixture
def agent_page(chromium, server, axe):
    contexts = []

    def login(username: str, browser=None):
        context, page = signed_in(browser or chromium, server, axe, username)
        contexts.append(context)
        page.wait_for_selector("body[data-ws=open]")
        expect(page.locator("#softphone")).to_have_attribute("data-state", "registered")
        expect(page.locator("#softphone")).to_have_text("Phone: ready")
        return page

    yield login
    try:
        axe.finish()
    except PlaywrightError:  # a browser that is already gone has nothing left to check
        pass
    for context in contexts:
        try:
            context.close()
        except PlaywrightError:  # its browser is already gone
            pass
