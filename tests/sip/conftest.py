"""The softphone against real SIP: kamailio, rtpengine and baresip customer lines (`bench.sipstack`), Ringback
with the browser softphone adapter, and Chromium with fake media — all inside a private network namespace whose
only interface is loopback (`scripts/test` starts this run through `scripts/_sipns`), where Chromium offers
127.0.0.1 as its ICE candidate.

Outside such a namespace (RINGBACK_SIP_NETNS unset) the whole directory is skipped.
"""

import os
from pathlib import Path

import pytest

from bench.sipstack import SipStack, sip_available
from tests.browser.conftest import ARGS, CHROMIUM, server

__all__ = ["server"]  # the browser journeys' Daphne on the test database, with this run's settings

RING_SECONDS = 6  # kamailio gives up on an unanswered call (408) after this

SIP_ARGS = [
    *ARGS,
    "--allow-loopback-in-peer-connection",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


def pytest_collection_modifyitems(config, items):
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


@pytest.fixture(scope="session")
def sip(server, tmp_path_factory):
    stack = SipStack(
        tmp_path_factory.mktemp("sip"),
        dict(os.environ),
        events_url=f"{server.url}/sip/events",
        ring_seconds=RING_SECONDS,
        origins=(server.url,),
    ).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=SIP_ARGS)
        yield browser
        browser.close()
