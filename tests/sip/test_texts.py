"""Texts over real SIP (RINGBACK_SMS_BACKEND=sip): Ringback's confirmation goes as a MESSAGE through its kamailio
and the trunk to the carrier (tests/sip/carrier.cfg), which challenges it like a call and delivers it to the
customer's phone (a baresip line registered with the carrier); the customer's reply, and STOP, come back from the
carrier to Ringback's number and land in the callback's history. A text to that number from anywhere else, without
credentials, is challenged and reaches nothing."""

from __future__ import annotations

import secrets
import socket

import pytest
from playwright.sync_api import expect

from callbacks.enums import EffectKind, HistoryKind
from callbacks.models import CallbackRequest, Effect, SmsOptOut, TextMessage
from callbacks.telephony.sip import credentials
from tests.factories import make_api_client, make_queue

from ..browser.test_core_journeys import create, notification, ready
from .conftest import TEXTS
from .test_attacks import _wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]

RINGBACK_NUMBER = TEXTS["RINGBACK_SMS_FROM"]


def text_from_handset(number: str, body: str, *, to: tuple[str, int], source: str = "127.0.0.3") -> str:
    """A MESSAGE from a customer's handset (`number`) to Ringback's number, sent to `to`; its final answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(10)
        port, payload = s.getsockname()[1], body.encode()
        uri = f"sip:{RINGBACK_NUMBER}@{to[0]}"
        head = "\r\n".join(
            [
                f"MESSAGE {uri} SIP/2.0",
                f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bK{secrets.token_hex(6)};rport",
                "Max-Forwards: 70",
                f"From: <sip:{number}@carrier.test>;tag={secrets.token_hex(4)}",
                f"To: <{uri}>",
                f"Call-ID: {secrets.token_hex(8)}@{source}",
                "CSeq: 1 MESSAGE",
                "Content-Type: text/plain;charset=UTF-8",
                f"Content-Length: {len(payload)}",
            ]
        )
        s.sendto(head.encode() + b"\r\n\r\n" + payload, to)
        while True:
            status = s.recv(65536).decode(errors="replace").split("\r\n", 1)[0]
            if not status.startswith("SIP/2.0 1"):
                return status


def test_a_confirmation_reaches_the_customers_phone_and_the_reply_and_stop_come_back(server, sip, carrier):
    number = "+33612000095"
    phone = sip.line(number, credentials(number), registrar="127.0.0.2")  # a handset on the PSTN
    _wait_for(lambda: "SIP/2.0 200 OK" in phone.sip_trace(), timeout=15)
    make_queue("texts", name="Billing", customer_notices="sms")
    _, token = make_api_client("Website")
    status, created = server.api("POST", "/api/v1/callbacks", token, {"queue": "texts", "phone_number": number})
    assert status == 201, created

    _wait_for(lambda: f"MESSAGE sip:{number}-" in phone.sip_trace(), timeout=20)  # to the phone's contact
    _wait_for(lambda: TextMessage.objects.filter(status=TextMessage.Status.SENT).exists(), timeout=10)
    sent = TextMessage.objects.get(direction="out")
    assert sent.kind == "confirmation" and f"Ref {created['reference']}" in sent.body
    assert sent.body.split("\n")[0] in phone.sip_trace(), "the phone received the text itself"
    assert f"From: <sip:{RINGBACK_NUMBER}@" in phone.sip_trace(), "from Ringback's number, the one to reply to"
    log = carrier.log_path.read_text(errors="replace")
    assert f"carrier: MESSAGE to {number} from 127.0.0.1 challenged" in log
    assert f"carrier: MESSAGE to {number} from 127.0.0.1 authenticated as ringback" in log

    assert text_from_handset(number, "Plutôt après 17 h, merci", to=("127.0.0.2", 5060)) == "SIP/2.0 200 OK"
    callback = CallbackRequest.objects.get(reference=created["reference"])
    reply = TextMessage.objects.get(direction="in")
    assert (reply.callback, reply.body) == (callback, "Plutôt après 17 h, merci")
    assert callback.history.filter(kind=HistoryKind.TEXT, message="Text from the customer: Plutôt après 17 h, merci").exists()

    assert text_from_handset(number, "STOP", to=("127.0.0.2", 5060)) == "SIP/2.0 200 OK"
    assert SmsOptOut.objects.filter(number=number).exists()

    # Opted out: the next callback's confirmation is held back, and nothing more reaches the phone.
    texts_received = phone.sip_trace().count(f"MESSAGE sip:{number}-")
    make_queue("texts-2", name="Sales", customer_notices="sms")  # (in the same queue it would join the open one)
    status, again = server.api("POST", "/api/v1/callbacks", token, {"queue": "texts-2", "phone_number": number})
    assert status == 201, again
    second = CallbackRequest.objects.get(reference=again["reference"])
    said = "No text sent (confirmation): the number opted out of texts"
    assert second.history.filter(kind=HistoryKind.TEXT, message=said).exists()
    assert not TextMessage.objects.filter(direction="out", callback=second).exists()
    assert not Effect.objects.filter(kind=EffectKind.SMS, callback=second).exists(), "nothing was queued to send"
    assert phone.sip_trace().count(f"MESSAGE sip:{number}-") == texts_received, "no text after STOP"


def test_a_forged_text_to_ringbacks_number_is_challenged_and_lands_nowhere(server, sip, settings):
    """Someone off the carrier texts STOP "from" a customer straight at kamailio: without the credentials Ringback
    issues, and not from the carrier's address, it is challenged; Ringback hears nothing of it."""
    number = "+33612000096"
    answer = text_from_handset(number, "STOP", to=("127.0.0.1", settings.RINGBACK_SIP_PORT), source="127.0.0.4")
    assert answer.startswith("SIP/2.0 407")
    assert not SmsOptOut.objects.exists() and not TextMessage.objects.exists()


def test_an_agents_text_reaches_the_phone_and_the_reply_lands_in_the_same_window(server, sip, carrier, floor, agent_page):
    """The SMS interaction over real SIP: Alice texts from the Party Action Menu, the MESSAGE reaches the customer's
    phone through the carrier, and the customer's answer, sent back through the carrier, appears in her window."""
    number, shown = "+33612000097", "+33 6 12 00 00 97"
    phone = sip.line(number, credentials(number), registrar="127.0.0.2")
    _wait_for(lambda: "SIP/2.0 200 OK" in phone.sip_trace(), timeout=15)
    page = agent_page("alice")
    ready(page)
    create(server, floor, phone_number=number, customer_name="Emma Petit")
    notification(page).get_by_role("button", name="Accept").click()
    call = page.get_by_role("region", name="Interactions").locator("article.window")
    call.get_by_label("Party Action Menu").click()
    call.get_by_role("button", name=f"Text message {shown}").click()
    window = page.get_by_role("region", name="Text message interactions").locator("article.text-window")
    window.get_by_label("Text", exact=True).fill("Emma, we call you at 17:30: is that still fine?")
    window.get_by_role("button", name="Send").click()
    sent = window.get_by_test_id("text-message").filter(has_text="is that still fine?")
    expect(sent.get_by_test_id("text-status")).to_have_text("Sent", timeout=20000)
    assert "Emma, we call you at 17:30: is that still fine?" in phone.sip_trace()

    assert text_from_handset(number, "Yes, 17:30 is perfect", to=("127.0.0.2", 5060)) == "SIP/2.0 200 OK"
    expect(window.get_by_test_id("text-message").filter(has_text="Yes, 17:30 is perfect")).to_have_count(1)
    expect(call.get_by_role("list", name="Case history")).to_contain_text("Text from the customer: Yes, 17:30 is perfect")
