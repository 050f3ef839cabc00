"""The production path against real SIP (issue #22): a Ringback set up as production is, whose pages reach
kamailio over WSS (a throwaway certificate, kamailio's tls module) and send all their media through coturn (its
configuration and the pages' time-limited credentials both from the secret they share). This module has its own
Ringback and SIP stack (module-scoped `server` and `sip`), and runs first (tests/sip/conftest.py)."""

import os

import pytest
from playwright.sync_api import expect

from callbacks.models import Call
from callbacks.telephony.sip import credentials
from tests.browser.conftest import Server

from ..browser.test_call_handling import status
from .conftest import running_stack
from .test_softphone import RTP_BOTH_WAYS, call_customer, wait_for_reports, wait_js

pytestmark = [pytest.mark.django_db(transaction=True)]

WSS_PORT = 8443
TURN = {"RINGBACK_SIP_TURN_URLS": "turn:127.0.0.1:3478?transport=udp", "RINGBACK_SIP_TURN_SECRET": "test-turn-secret"}


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> dict:
    """A throwaway certificate for 127.0.0.1 (kamailio's WSS), as settings."""
    from datetime import UTC, datetime, timedelta
    from ipaddress import IPv4Address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return {"RINGBACK_SIP_TLS_CERTIFICATE": str(folder / "cert.pem"), "RINGBACK_SIP_TLS_KEY": str(folder / "key.pem")}


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    """Ringback as production runs it: the SIP websocket is wss://, and every call's media go through TURN."""
    srv = Server(RINGBACK_SIP_WS_URL=f"wss://127.0.0.1:{WSS_PORT}", RINGBACK_SIP_TURN_POLICY="relay", **TURN)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def sip(server, tls, tmp_path_factory):
    yield from running_stack(server, tmp_path_factory.mktemp("sip-production"), dict(os.environ) | tls | TURN, wss_port=WSS_PORT)


RELAYED = """async () => {
  const s = Object.values(window.ringbackSoftphone.sessions)[0];
  const stats = await s.connection.getStats();
  let pair = null;
  stats.forEach(r => { if (r.type === "transport" && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId);
  return [local.candidateType, local.port];
}"""


def test_the_production_path_a_call_over_wss_with_turn_relaying_the_media(sip, server, floor, agent_page):
    """Production's set-up: the page reaches kamailio over WSS (its certificate), and its media go through coturn
    only (the page's ICE policy is relay, with the credentials Ringback derived from the secret it shares with
    coturn). The customer hears the agent and the agent the customer."""
    number = "+33612000064"
    line = sip.line(number, credentials(number), answer_mode="auto")
    page = agent_page("alice")
    assert page.evaluate("window.ringbackSoftphone.ua.transport.via_transport") == "WSS"
    call_customer(page, server, floor, number)
    expect(status(page)).to_have_text("Connected")
    line.wait_for("CALL_ESTABLISHED")
    wait_js(page, RTP_BOTH_WAYS)
    kind, port = page.evaluate(RELAYED)
    assert kind == "relay" and 49160 <= port <= 49400, "the media went through coturn's relay ports"
    wait_for_reports(Call.objects.get(), {("proxy", "started")})  # kamailio's report came over its channel too
