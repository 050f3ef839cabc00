"""Texts as SIP MESSAGE (RINGBACK_SMS_BACKEND=sip), the database side and the user agent's logic: the MESSAGE
Ringback sends answers the proxy's Digest challenge with credentials it mints for its number, is resent until
answered, and fails a try on anything but a 2xx; kamailio's hand-over of a customer's text (`/sip/message`) lands
as a reply, STOP or START, once, from kamailio only. Through real kamailio, a carrier and a phone:
tests/sip/test_texts.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import shutil
import socket
import subprocess
import threading

import pytest
from django.core.management import call_command

from callbacks import messaging
from callbacks.enums import HistoryKind
from callbacks.messaging import SmsError
from callbacks.messaging import sip as sip_texts
from callbacks.models import SmsOptOut, TextMessage
from callbacks.telephony.sip import secret

from .factories import make_callback, make_queue
from .test_softphone_reports import proxy, refused

NUMBER = "+33184880099"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - Digest


class Proxy:
    """A SIP proxy on a UDP port of 127.0.0.1 that challenges each MESSAGE (407, qop=auth) and checks the answer
    with the ephemeral password of the From user (auth_ephemeral's rule, the shared secret), as kamailio does; then
    answers `final`. `drop_first` requests are ignored (lost datagrams)."""

    def __init__(self, final: str = "200 OK", drop_first: int = 0, silent: bool = False):
        self.final, self.drop, self.silent = final, drop_first, silent
        self.requests: list[str] = []
        self.authenticated: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                raw, peer = self.sock.recvfrom(65536)
            except OSError:
                return
            text = raw.decode()
            self.requests.append(text)
            if self.drop > 0:
                self.drop -= 1
                continue
            if self.silent:
                continue
            head = text.split("\r\n\r\n")[0].split("\r\n")
            headers = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in head[1:]}
            keep = "".join(f"{name}: {headers[name.lower()]}\r\n" for name in ("Via", "From", "To", "Call-ID", "CSeq"))
            if "proxy-authorization" not in headers:
                challenge = 'Proxy-Authenticate: Digest realm="127.0.0.1", nonce="n0nce", qop="auth"\r\n'
                answer = f"SIP/2.0 407 Proxy Authentication Required\r\n{keep}{challenge}Content-Length: 0\r\n\r\n"
            else:
                p = dict(re.findall(r'(\w+)="?([^",]*)"?', headers["proxy-authorization"]))
                user = p["username"].split(":", 1)[1]
                from_user = re.search(r"sip:([^@]+)@", headers["from"]).group(1)
                password = base64.b64encode(hmac.new(secret().encode(), p["username"].encode(), "sha256").digest()).decode()
                ha1, ha2 = md5(f"{p['username']}:{p['realm']}:{password}"), md5(f"MESSAGE:{p['uri']}")
                expected = md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
                ok = p["response"] == expected and user == from_user
                if ok:
                    self.authenticated.append(user)
                status = self.final if ok else "403 Forbidden"
                answer = f"SIP/2.0 {status}\r\n{keep}Content-Length: 0\r\n\r\n"
            self.sock.sendto(answer.encode(), peer)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def sip_backend(settings):
    settings.RINGBACK_SMS_BACKEND = "sip"
    settings.RINGBACK_SMS_FROM = NUMBER
    settings.RINGBACK_SIP_SECRET = "test-sip-secret-for-texts"
    messaging.sms_backend.cache_clear()
    yield messaging.sms_backend()
    messaging.sms_backend.cache_clear()


def at(settings, proxy_: Proxy) -> Proxy:
    settings.RINGBACK_SIP_ADDRESS, settings.RINGBACK_SIP_PORT = "127.0.0.1", proxy_.port
    return proxy_


def test_a_text_answers_the_proxys_challenge_as_ringbacks_number(sip_backend, settings):
    server = at(settings, Proxy())
    sent = sip_backend.send(to="+33612345678", body="Billing: we will call you — Léa", sender=NUMBER, reference="7")
    server.close()
    first, second = server.requests
    assert first.startswith("MESSAGE sip:+33612345678@127.0.0.1 SIP/2.0\r\n") and "Proxy-Authorization" not in first
    assert f"From: <sip:{NUMBER}@127.0.0.1>;tag=" in second and "CSeq: 2 MESSAGE" in second
    assert "Content-Type: text/plain;charset=UTF-8" in second
    assert second.endswith("\r\n\r\nBilling: we will call you — Léa")
    assert server.authenticated == [NUMBER]
    assert sent.provider_id.startswith("sms-7-")
    assert secret() not in first + second, "the shared secret never travels"


def test_a_lost_datagram_is_resent(sip_backend, settings):
    server = at(settings, Proxy(drop_first=1))
    sip_backend.send(to="+33612345678", body="Hello", sender=NUMBER, reference="8")
    server.close()
    assert len(server.requests) == 3 and server.requests[0] == server.requests[1]


@pytest.mark.parametrize("final", ["404 Not Found", "488 Not Acceptable Here", "503 Service Unavailable"])
def test_anything_but_a_2xx_fails_the_try(sip_backend, settings, final):
    server = at(settings, Proxy(final=final))
    with pytest.raises(SmsError, match=f"answered {final}"):
        sip_backend.send(to="+33612345678", body="Hello", sender=NUMBER, reference="9")
    server.close()


def test_a_proxy_that_never_answers_fails_the_try_after_timer_f(sip_backend, settings, monkeypatch):
    monkeypatch.setattr(sip_texts, "TIMEOUT_SECONDS", 1.7)
    server = at(settings, Proxy(silent=True))
    with pytest.raises(SmsError, match="did not answer"):
        sip_backend.send(to="+33612345678", body="Hello", sender=NUMBER, reference="10")
    server.close()
    assert len(server.requests) == 3, "sent at 0, T1 and 3·T1, then given up"


def test_the_digest_follows_rfc_2617():
    """RFC 2617's own example (section 3.5), without qop: Mufasa's response."""
    header = sip_texts.digest(
        'Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
    )
    assert 'response="670fd8c2df070c60b045671b8b24ff02"' in header and 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header


def message(client, body: str, *, sender="+33612345678", call_id="m1@127.0.0.2", **kwargs):
    return proxy(client, f"{sender}|{call_id}\n{body}", path="/sip/message", **kwargs)


@pytest.fixture
def waiting(db, sip_backend):
    return make_callback(make_queue("billing", name="Billing", customer_notices="sms"), phone="+33612345678")


def test_a_customers_text_lands_as_a_reply_once(client, waiting):
    assert message(client, "Après 17 h, s'il vous plaît").status_code == 200
    assert message(client, "Après 17 h, s'il vous plaît").status_code == 200  # kamailio resent it
    text = TextMessage.objects.get(direction="in")
    assert (text.callback, text.body, text.provider_id) == (waiting, "Après 17 h, s'il vous plaît", "sip:m1@127.0.0.2")
    assert waiting.history.filter(kind=HistoryKind.TEXT, message="Text from the customer: Après 17 h, s'il vous plaît").exists()


def test_stop_and_start_by_sip(client, waiting):
    message(client, "STOP", call_id="m2")
    assert SmsOptOut.objects.filter(number="+33612345678").exists()
    message(client, "start", call_id="m3")
    assert not SmsOptOut.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "+33612345678|m4",  # no newline, no text
        "+33612345678|m4\n   ",  # an empty text
        "+33612345678|has space\nhello",  # no Call-ID
        "+33612345678\nhello",  # no Call-ID at all
        "+33612345678|m4\n" + "x" * 1601,
        "+33612345678|m4\nnul\x00byte",
    ],
)
def test_a_malformed_hand_over_is_a_400_and_changes_nothing(client, waiting, body):
    assert proxy(client, body, path="/sip/message").status_code == 400
    assert not TextMessage.objects.filter(direction="in").exists()


@pytest.mark.parametrize(("attempt", "reason"), [({"token": "0" * 64}, "token"), ({"address": "203.0.113.9"}, "address")])
def test_only_kamailio_may_hand_over_a_text(client, waiting, attempt, reason):
    """A forged hand-over would put words in a customer's mouth, or opt their number out of texts."""
    before = refused(reason)
    assert message(client, "STOP", **attempt).status_code == 403
    assert refused(reason) == before + 1
    assert not TextMessage.objects.filter(direction="in").exists() and not SmsOptOut.objects.exists()


def test_kamailio_hands_texts_to_ringbacks_number_over(db, tmp_path, settings, sip_backend):
    call_command("sip_config", "--dir", str(tmp_path), "--events-url", "http://10.0.0.5:8000/sip/events", stdout=None)
    config = (tmp_path / "kamailio.cfg").read_text()
    assert f'is_method("MESSAGE") && $rU == "{NUMBER}"' in config
    assert 'http_client_query("http://10.0.0.5:8000/sip/message"' in config
    if shutil.which("kamailio"):
        check = subprocess.run(["kamailio", "-c", "-f", str(tmp_path / "kamailio.cfg")], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr[-2000:]
    settings.RINGBACK_SMS_BACKEND = "http"
    call_command("sip_config", "--dir", str(tmp_path), "--events-url", "http://10.0.0.5:8000/sip/events", stdout=None)
    assert "route(SMS_IN)" not in (tmp_path / "kamailio.cfg").read_text(), "texts to Ringback's number come by HTTP"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RINGBACK_SMS_BACKEND": "sip", "RINGBACK_SMS_FROM": ""}, "RINGBACK_SMS_BACKEND=sip needs RINGBACK_SMS_FROM"),
        ({"RINGBACK_SMS_BACKEND": "sip", "RINGBACK_SMS_FROM": "Ringback"}, "an E.164 number"),
        ({"RINGBACK_SMS_BACKEND": "carrier-pigeon"}, "RINGBACK_SMS_BACKEND is none, http or sip"),
    ],
)
def test_ringback_does_not_start_with_a_text_set_up_it_cannot_keep(env, message):
    from .test_production import manage

    result = manage("check", **env)
    assert result.returncode != 0 and message in result.stderr
