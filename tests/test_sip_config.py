"""`manage.py sip_config`: what it writes for kamailio, and how (the real SIP stack runs it in tests/sip/)."""

import shutil
import stat
import subprocess

import pytest
from django.core.management import call_command

from callbacks.telephony.sip import proxy_token, secret

from .factories import make_queue

pytestmark = pytest.mark.django_db


def generate(tmp_path, *args: str) -> str:
    call_command("sip_config", "--dir", str(tmp_path), "--events-url", "http://10.0.0.5:8000/sip/events", *args, stdout=None)
    return (tmp_path / "kamailio.cfg").read_text()


def test_the_files_are_readable_by_their_owner_only_even_over_an_older_copy(tmp_path):
    (tmp_path / "kamailio.cfg").write_text("old")
    (tmp_path / "kamailio.cfg").chmod(0o644)
    generate(tmp_path)
    for name in ("kamailio.cfg", "rtpengine.conf"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_djangos_key_is_never_written_and_the_reports_carry_a_token_not_a_query(tmp_path, settings):
    settings.RINGBACK_SIP_SECRET = ""
    cfg = generate(tmp_path)
    assert settings.SECRET_KEY not in cfg
    assert f'modparam("auth_ephemeral", "secret", "{secret()}")' in cfg, "a secret derived from it"
    assert f'"Authorization: Bearer {proxy_token()}"' in cfg
    assert 'http_client_query("http://10.0.0.5:8000/sip/events", "$var(body)"' in cfg, "a POST body"
    assert 'http_client_query("http://10.0.0.5:8000/sip/caller-id", "$var(question)"' in cfg, "asked beside it"
    assert "?e=" not in cfg


def test_during_a_rotation_kamailio_accepts_both_secrets(tmp_path, settings):
    settings.RINGBACK_SIP_SECRET, settings.RINGBACK_SIP_SECRET_PREVIOUS = "n" * 40, "o" * 40
    cfg = generate(tmp_path)
    assert cfg.index(f'"secret", "{"n" * 40}"') < cfg.index(f'"secret", "{"o" * 40}"'), "the new one first"
    settings.RINGBACK_SIP_SECRET_PREVIOUS = ""
    assert "o" * 40 not in generate(tmp_path)


def test_the_sip_websocket_opens_for_ringbacks_pages_only(tmp_path, settings):
    settings.RINGBACK_PUBLIC_URL = "https://callbacks.example.com/"
    assert '$hdr(Origin) != "https://callbacks.example.com")' in generate(tmp_path)
    cfg = generate(tmp_path, "--origin", "http://127.0.0.1:8000", "--origin", "http://localhost:8000")
    assert '$hdr(Origin) != "http://127.0.0.1:8000" && $hdr(Origin) != "http://localhost:8000")' in cfg


@pytest.mark.skipif(not shutil.which("kamailio"), reason="kamailio is a Debian package the SIP suite installs")
def test_kamailio_accepts_the_configuration(tmp_path, settings):
    settings.RINGBACK_SIP_SECRET_PREVIOUS = "o" * 40
    generate(tmp_path)
    check = subprocess.run(["kamailio", "-c", "-f", str(tmp_path / "kamailio.cfg")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr[-2000:]


def test_kamailio_applies_the_blocked_ranges_and_the_queues_allowed_prefixes(tmp_path, settings):
    settings.RINGBACK_DIAL_BLOCKED_PREFIXES = "+1900 +3389"
    make_queue("fr", dial_allowed_prefixes="+33")
    make_queue("be", dial_allowed_prefixes="+32, +33")
    cfg = generate(tmp_path)
    assert 'if ($var(target) =~ "^[+](1900|3389)")' in cfg
    assert 'if (!($var(target) =~ "^[+](32|33)"))' in cfg
    make_queue("any")  # a queue that may call any number outside the blocked ranges
    assert "^[+](32|33)" not in generate(tmp_path)


def test_a_wss_url_gets_a_tls_listener_and_needs_its_certificate(tmp_path, settings):
    from django.core.management.base import CommandError

    settings.RINGBACK_SIP_WS_URL = "wss://sip.example.com:443"
    with pytest.raises(CommandError, match="needs RINGBACK_SIP_TLS_CERTIFICATE"):
        generate(tmp_path)
    settings.RINGBACK_SIP_TLS_CERTIFICATE, settings.RINGBACK_SIP_TLS_KEY = "/etc/ssl/sip.pem", "/etc/ssl/sip.key"
    cfg = generate(tmp_path)
    assert "listen=tls:127.0.0.1:443" in cfg and 'modparam("tls", "certificate", "/etc/ssl/sip.pem")' in cfg
    assert "listen=tcp:127.0.0.1:8600" not in cfg, "no plain websocket unless asked"
    assert "listen=tcp:127.0.0.1:8600" in generate(tmp_path, "--ws-port", "8600")


def test_turn_gets_a_coturn_configuration_with_the_same_secret(tmp_path, settings):
    settings.RINGBACK_SIP_TURN_URLS = "turn:turn.example.com:3478?transport=udp"
    settings.RINGBACK_SIP_TURN_SECRET = "t" * 40
    generate(tmp_path, "--turn-relay-ip", "10.0.0.7", "--turn-external-ip", "203.0.113.7")
    turn = (tmp_path / "turnserver.conf").read_text()
    assert stat.S_IMODE((tmp_path / "turnserver.conf").stat().st_mode) == 0o600
    for line in ("use-auth-secret", f"static-auth-secret={'t' * 40}", "relay-ip=10.0.0.7", "external-ip=203.0.113.7"):
        assert line in turn.splitlines(), line
    assert "allow-loopback-peers" not in turn


def test_the_trunk_is_trusted_by_its_addresses_and_answers_the_carriers_challenge(tmp_path, settings):
    assert 'modparam("uac", "credential"' not in generate(tmp_path), "no trunk, no carrier account"
    settings.RINGBACK_SIP_TRUNK = "sip.carrier.example:5060"
    settings.RINGBACK_SIP_TRUNK_ADDRESSES = "192.0.2.10, 198.51.100.0/24"
    settings.RINGBACK_SIP_TRUNK_USERNAME, settings.RINGBACK_SIP_TRUNK_REALM = "acme", "carrier.example"
    settings.RINGBACK_SIP_TRUNK_PASSWORD = "p" * 24
    cfg = generate(tmp_path)
    assert 'if (is_in_subnet("$si", "192.0.2.10/32") || is_in_subnet("$si", "198.51.100.0/24")) {' in cfg
    assert f'modparam("uac", "credential", "acme:carrier.example:{"p" * 24}")' in cfg
    assert '$du = "sip:sip.carrier.example:5060";\n        setflag(FLT_TO_TRUNK);' in cfg


def test_the_customer_sees_the_company_number_not_the_agents_address(tmp_path, settings):
    """The site's number by default; the queue's, as Ringback answers kamailio's question (tests/sip prove it)."""
    settings.RINGBACK_SIP_CALLER_ID = "+33144556677"
    cfg = generate(tmp_path)
    assert '$var(cli) = "+33144556677";' in cfg
    assert 'uac_replace_from("", "sip:$var(cli)@127.0.0.1");' in cfg
    assert 'append_hf("P-Asserted-Identity: <sip:$var(cli)@127.0.0.1>\\r\\n");' in cfg


def test_rtpengine_records_to_pcap_in_userspace_only_when_a_recording_directory_is_set(tmp_path, settings):
    generate(tmp_path)
    assert "recording" not in (tmp_path / "rtpengine.conf").read_text()
    settings.RINGBACK_RTPENGINE_RECORDING_DIR = "/var/spool/ringback-recordings"
    generate(tmp_path)
    conf = (tmp_path / "rtpengine.conf").read_text()
    assert "table = -1\n" in conf  # still no kernel module: the pcap method records in userspace
    assert "recording-dir = /var/spool/ringback-recordings\nrecording-method = pcap\nrecording-format = raw\n" in conf
