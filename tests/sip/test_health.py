"""What Ringback knows of the SIP side's health (`/readyz`, `/metrics`), and registrations that do not outlive the
browser that made them."""

import json
import re
import socket
import urllib.error
import urllib.request

import pytest

from callbacks.telephony.sip import agent_user, credentials
from callbacks.telephony.sip import health as sip_health

from .test_attacks import _registration, _wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_readyz_reports_kamailio_with_its_registrations_and_rtpengine(sip, server):
    before = sip_health.kamailio()
    line = sip.line("+33612000041", credentials("+33612000041"))
    assert _registration(line) == "SIP/2.0 200 OK"
    _wait_for(lambda: sip_health.kamailio() == before + 1)
    try:
        with urllib.request.urlopen(f"{server.url}/readyz", timeout=10) as answer:
            body = answer.read()
    except urllib.error.HTTPError as not_ready:  # the other parts are tests/test_health.py's: read the SIP ones
        body = not_ready.read()
    checks = json.loads(body)["checks"]
    assert re.fullmatch(r"[1-9]\d* registered", checks["kamailio"]), checks  # (others come and go meanwhile)
    assert checks["rtpengine"] == "pong"


def test_a_browser_that_vanishes_leaves_no_registration_behind(sip, server):
    """A tab that dies without unregistering (a crash, a lost network): its contact goes with its websocket, not
    minutes later, so a transfer to that agent never rings a dead browser."""
    from websockets.sync.client import connect

    from .test_attacks import _digest

    before = sip_health.kamailio()
    user = agent_user(41)
    creds = credentials(user)
    with connect("ws://127.0.0.1:8600", subprotocols=["sip"], origin=server.url, open_timeout=10) as ws:
        assert _digest(ws, "REGISTER", user, "", creds) == "SIP/2.0 200 OK"
        _wait_for(lambda: sip_health.kamailio() > before)
        registered = sip_health.kamailio()
        ws.socket.shutdown(socket.SHUT_RDWR)  # no unregister, no close frame: the connection is simply gone
        _wait_for(lambda: sip_health.kamailio() == registered - 1)
