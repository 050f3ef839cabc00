"""The voice entry on real SIP: customers are baresip lines that dial a queue's entry number through kamailio, hear
Ringback's voice application (`manage.py voice`, a baresip Ringback drives) and key their choices as RFC 4733 events.
"""

import re
import secrets
import socket
import threading
import time
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from callbacks import calendars
from callbacks.enums import CallbackState, CallbackType, CallState, Channel, DialMode, HistoryKind, Origin
from callbacks.models import Call, CallbackRequest, EntryNumber, Queue, VoiceOutcome, VoiceSession
from callbacks.telephony.sip import credentials

from ..browser.conftest import SHOTS
from ..browser.test_call_handling import accept, status
from ..browser.test_core_journeys import create, ready
from ..factories import make_agent, make_api_client, set_ready
from .test_softphone import RTP_BOTH_WAYS, wait_js

ENTRY = "+33184880010"
LOUD = 200  # RMS of 16-bit samples: espeak's words are in the thousands, a silent line is 0


@pytest.fixture
def entry(transactional_db):
    queue = Queue.objects.create(name="Billing", slug="billing", offer_timeout_seconds=60)
    return EntryNumber.objects.create(queue=queue, number=ENTRY, language="en")


def caller(sip, number: str):
    """A customer's phone that dials the entry number and keeps what it hears."""
    line = sip.line(number, credentials(number), record=True)
    line.command("dial", f"sip:{ENTRY}@127.0.0.1")
    line.wait_for("CALL_ESTABLISHED")
    return line


@pytest.fixture
def said(voice):
    """said(words): the voice application said these parts during this test (its log names each utterance, the
    numbers in it masked as every log line's are)."""
    start = voice.log_path.stat().st_size

    def heard(words: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while words not in (text := voice.log_path.read_bytes()[start:].decode(errors="replace")):
            if time.monotonic() > deadline:
                raise AssertionError(f"the menu never said {words!r}: {text[-2000:]}")
            time.sleep(0.1)

    return heard


def keys(line, digits: str) -> None:
    for digit in digits:
        line.command("sndcode", digit)
        time.sleep(0.15)  # one RFC 4733 event after the other, as a thumb on a keypad


def info_key(line, digit: str) -> str:
    """Send a key as a phone that uses SIP INFO does (`application/dtmf-relay`), inside the line's call to the entry
    number: a request of the line's dialog (its Call-ID, tags and the route set kamailio recorded), through kamailio
    from a socket of its own. The final status line of the answer."""
    messages = re.findall(r"UDP (\S+) -> (\S+)\n(.*?)\n\n", line.sip_trace(), re.S)
    ok = next(m for _, _, m in messages if m.startswith("SIP/2.0 200 ") and re.search(r"^CSeq: \d+ INVITE", m, re.M))

    def header(name: str) -> list[str]:
        return re.findall(rf"^{name}: (.*)$", ok, re.M)

    cseq = int(header("CSeq")[0].split()[0]) + 100
    body = f"Signal={digit}\r\nDuration=160\r\n"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        port = sock.getsockname()[1]
        target = re.search(r"<([^>]+)>", header("Contact")[0]).group(1)
        request = "\r\n".join(
            [
                f"INFO {target} SIP/2.0",
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{secrets.token_hex(8)};rport",
                *[f"Route: {route}" for route in reversed(header("Record-Route"))],
                "Max-Forwards: 70",
                f"From: {header('From')[0]}",
                f"To: {header('To')[0]}",
                f"Call-ID: {header('Call-ID')[0]}",
                f"CSeq: {cseq} INFO",
                "Content-Type: application/dtmf-relay",
                f"Content-Length: {len(body)}",
                "",
                body,
            ]
        )
        sock.sendto(request.encode(), ("127.0.0.1", 5060))
        while True:
            answer = sock.recv(65535).decode(errors="replace")
            if not answer.startswith("SIP/2.0 1"):  # a provisional answer: the final one follows
                return answer.split("\r\n", 1)[0]


def ended(line, session_outcome: str) -> VoiceSession:
    line.wait_for("CALL_CLOSED", timeout=30)
    deadline = time.monotonic() + 10
    while not VoiceSession.objects.filter(ended_at__isnull=False, outcome=session_outcome).exists():
        if time.monotonic() > deadline:
            raise AssertionError(list(VoiceSession.objects.values("outcome", "ended_at")))
        time.sleep(0.1)
    return VoiceSession.objects.get()


def test_a_caller_presses_1_and_1_and_keeps_the_place_their_call_took_in_line(server, sip, voice, entry, said):
    """The greeting is heard (audio energy at the caller's side), 1 reads the caller's number back, 1 books: a
    callback to their number, origin IVR, in line from the moment the call arrived, and the call in its history."""
    line = caller(sip, "+33612000051")
    said("thanks name:Billing wait_")
    keys(line, "1")  # barging in: a key acts at once, whatever the menu is saying
    said("read_number digits:***51 confirm")  # (the log masks numbers)
    keys(line, "1")
    said("booked (then hangs up)")
    session = ended(line, VoiceOutcome.BOOKED)
    assert line.heard_energy() > LOUD, "the caller heard the menu"
    callback = CallbackRequest.objects.get()
    assert (callback.phone_number, callback.origin, callback.channel) == ("+33612000051", Origin.IVR, Channel.VOICE)
    assert callback.type == CallbackType.IMMEDIATE
    assert callback.enqueued_at == session.arrived_at < callback.created_at, "in line from the call's arrival"
    assert session.callback == callback and session.caller == "+33612000051"
    assert callback.history.filter(kind=HistoryKind.CALL, message__contains="Call from +33 6 12 00 00 51").exists()


def test_a_phone_that_sends_its_keys_as_sip_info_is_heard_too(server, sip, voice, entry, said):
    """Keys as SIP INFO (application/dtmf-relay), as some desk phones and carriers send them, drive the menu as RFC
    4733 events do."""
    line = caller(sip, "+33612000060")
    said("thanks name:Billing")
    assert info_key(line, "1") == "SIP/2.0 200 OK"
    said("read_number digits:***60 confirm")
    assert info_key(line, "1") == "SIP/2.0 200 OK"
    said("booked (then hangs up)")
    line.command("hangup")
    ended(line, VoiceOutcome.BOOKED)
    assert CallbackRequest.objects.get().phone_number == "+33612000060"


def test_a_caller_keys_another_number_with_a_mistake_then_correctly(server, sip, voice, entry, said):
    line = caller(sip, "+33612000052")
    keys(line, "2")
    said("enter_number")
    keys(line, "0612#")  # too short
    said("invalid enter_number")
    keys(line, "0612000099#")  # a French number keyed as the French do: read in the entry number's country
    said("read_number digits:***99 confirm")
    keys(line, "1")
    said("booked (then hangs up)")
    line.command("hangup")  # the caller need not hear the goodbye out
    ended(line, VoiceOutcome.BOOKED)
    assert CallbackRequest.objects.get().phone_number == "+33612000099"


def test_a_caller_chooses_a_time_and_the_callback_is_scheduled_for_it(server, sip, voice, entry, said):
    line = caller(sip, "+33612000053")
    keys(line, "3")
    said("press n:1 for")  # "for today at 14 hours 30, press 1, for …"
    keys(line, "1")
    said("read_number digits:***53")
    keys(line, "1")
    said("booked (then hangs up)")
    line.command("hangup")  # the caller need not hear the goodbye out
    ended(line, VoiceOutcome.BOOKED)
    callback = CallbackRequest.objects.get()
    assert (callback.type, callback.state) == (CallbackType.SCHEDULED, CallbackState.SCHEDULED)
    first = calendars.free_slots(entry.queue, callback.created_at + timedelta(minutes=5), callback.created_at + timedelta(days=1))
    assert callback.desired_time in {s.start for s in first[:2]}, (callback.desired_time, first[:2])


def test_a_caller_who_hangs_up_halfway_leaves_nothing_behind(server, sip, voice, entry, said):
    line = caller(sip, "+33612000054")
    keys(line, "2")
    said("enter_number")
    keys(line, "0612")
    line.command("hangup")
    session = ended(line, VoiceOutcome.HUNG_UP)
    assert not CallbackRequest.objects.exists()
    assert session.callback is None


def test_a_number_that_is_not_an_entry_number_never_reaches_the_menu(server, sip, voice, entry, said):
    line = sip.line("+33612000055", credentials("+33612000055"))
    line.command("dial", "sip:+33184880099@127.0.0.1")
    closed = line.wait_for("CALL_CLOSED")
    assert closed["param"].startswith(("404", "403")), closed
    assert not VoiceSession.objects.exists()


# --- Customer-first dialling -----------------------------------------------------------------------------------------


@pytest.fixture
def customer_first(transactional_db):
    """A customer-first queue with a number and a name, a short wait for a key and a short hold limit."""
    queue = Queue.objects.create(
        name="Billing",
        slug="billing",
        offer_timeout_seconds=60,
        dial_mode=DialMode.CUSTOMER_FIRST,
        caller_id="+33184880000",
        caller_id_name="Billing",
        menu_wait_seconds=3,
        customer_hold_seconds=5,  # (admin allows 15 at least; the test's patience is shorter)
    )
    alice = make_agent("alice", queue)
    _, token = make_api_client("Website")
    return queue, alice, token


def answering(sip, number: str):
    """A customer's phone that answers Ringback's call and keeps what it hears."""
    return sip.line(number, credentials(number), answer_mode="auto", record=True)


def ready_without_a_page(agent) -> None:
    """Ready, with no page to answer offers (in a thread of its own: Playwright's loop runs in this one, and the
    status change pushes)."""
    worker = threading.Thread(target=set_ready, args=(agent,))
    worker.start()
    worker.join(10)


def handed_over_and_hung_up(session: VoiceSession, line, page) -> None:
    """The voice line is done with the customer (the REFER was taken); the customer hangs up and Alice is back."""
    deadline = time.monotonic() + 10
    while VoiceSession.objects.get(pk=session.pk).outcome != VoiceOutcome.CONNECTED and time.monotonic() < deadline:
        time.sleep(0.1)
    assert VoiceSession.objects.get(pk=session.pk).outcome == VoiceOutcome.CONNECTED
    line.command("hangup")
    expect(status(page)).to_have_text("Ready to Call", timeout=20000)


def session_of(callback_pk: int) -> VoiceSession:
    return VoiceSession.objects.get(callback_id=callback_pk)


def test_customer_first_a_customer_who_presses_1_is_connected_to_the_agent_who_accepts(
    server, sip, voice, customer_first, said, agent_page
):
    """Ringback calls the customer with the queue's caller ID; 1 offers them to Alice as "Customer on the line";
    Accept hands the customer's phone to Alice's (a REFER), and RTP flows both ways."""
    _, _, token = customer_first
    line = answering(sip, "+33612000056")
    page = agent_page("alice")
    ready(page)
    callback = create(server, token, phone_number="+33612000056", customer_name="Camille Laurent")
    line.wait_for("CALL_ESTABLISHED", timeout=30)
    invite = line.sip_trace().split("INVITE sip:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r'^From: "Billing" <sip:\+33184880000@127\.0\.0\.1>;tag=', invite, re.M), invite
    said("returning_1 name:Billing returning_2 returning_options")
    keys(line, "1")
    said("hold")
    card = page.get_by_role("alertdialog")
    expect(card.get_by_test_id("on-line")).to_contain_text("Customer on the line")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "offer-customer-on-the-line.png"))
    accept(page)
    expect(status(page)).to_have_text("Connected")
    line.wait_for_count("CALL_ESTABLISHED", 2, timeout=30)  # the customer's phone called Alice's
    wait_js(page, RTP_BOTH_WAYS)
    session = session_of(CallbackRequest.objects.get(reference=callback["reference"]).pk)
    call = Call.objects.get()
    assert (call.state, call.number) == (CallState.CONNECTED, "+33612000056")
    assert session.refer_to.startswith("agent-")
    handed_over_and_hung_up(session, line, page)


def test_a_customer_told_to_call_in_is_put_through_to_the_agent_who_accepts(server, sip, voice, entry, said, agent_page):
    """GMS's USERORIGINATED: the start answers DialNumber with the entry number; the customer calls it from their
    number and is on hold for an agent at once, offered to Alice as "Customer on the line"; Accept hands the
    customer's phone to Alice's (a REFER), and RTP flows both ways."""
    queue = entry.queue
    queue.gms_service = "billing-cb"
    queue.save()
    make_agent("alice", queue)
    page = agent_page("alice")
    ready(page)
    answer = httpx.post(
        f"{server.url}/genesys/1/service/callback/billing-cb",
        json={"_customer_number": "+33612000061", "_call_direction": "USERORIGINATED"},
        timeout=10,
    ).json()
    assert (answer["_action"], answer["_tel_url"]) == ("DialNumber", f"tel:{ENTRY}")
    line = caller(sip, "+33612000061")
    said("thanks name:Billing hold")
    expect(page.get_by_role("alertdialog").get_by_test_id("on-line")).to_contain_text("Customer on the line")
    accept(page)
    expect(status(page)).to_have_text("Connected")
    line.wait_for_count("CALL_ESTABLISHED", 2, timeout=30)  # the customer's phone called Alice's
    wait_js(page, RTP_BOTH_WAYS)
    callback = CallbackRequest.objects.get(reference=answer["_id"])
    assert Call.objects.get(callback=callback).state == CallState.CONNECTED
    session = VoiceSession.objects.get(callback=callback)
    handed_over_and_hung_up(session, line, page)


def test_customer_first_no_key_counts_as_no_answer_and_the_retry_is_scheduled(server, sip, voice, customer_first, said):
    queue, alice, token = customer_first
    Queue.objects.filter(pk=queue.pk).update(menu_wait_seconds=1)  # nobody will press: no need to wait 3 s for it
    line = answering(sip, "+33612000057")
    ready_without_a_page(alice)
    callback = create(server, token, phone_number="+33612000057")
    line.wait_for("CALL_ESTABLISHED", timeout=30)
    said("returning_options")
    said("goodbye_short (then hangs up)", timeout=30)  # no key within the queue's time: nobody, or a machine
    line.wait_for("CALL_CLOSED", timeout=20)
    assert line.heard_energy() > LOUD
    saved = CallbackRequest.objects.get(reference=callback["reference"])
    deadline = time.monotonic() + 10
    while saved.state != CallbackState.SCHEDULED and time.monotonic() < deadline:
        time.sleep(0.1)
        saved.refresh_from_db()
    assert (saved.state, saved.attempts) == (CallbackState.SCHEDULED, 1)
    assert saved.desired_time > timezone.now() + timedelta(minutes=10), "the queue's default retry: 15 minutes on"
    assert "No answer (Ringback called first): automatic retry at" in saved.history.last().message
    assert session_of(saved.pk).outcome == VoiceOutcome.NO_ANSWER


def test_customer_first_no_agent_within_the_hold_limit_apologises_and_books_a_new_time(server, sip, voice, customer_first, said):
    _, alice, token = customer_first
    line = answering(sip, "+33612000058")
    ready_without_a_page(alice)  # the offer is never answered
    callback = create(server, token, phone_number="+33612000058")
    line.wait_for("CALL_ESTABLISHED", timeout=30)
    said("returning_options")
    keys(line, "1")
    said("hold")
    said("sorry_busy", timeout=30)  # the new time is booked before the apology says it
    saved = CallbackRequest.objects.get(reference=callback["reference"])
    assert saved.state == CallbackState.SCHEDULED and saved.on_line_since is None
    assert saved.desired_time >= timezone.now() + timedelta(minutes=10)
    assert session_of(saved.pk).outcome == VoiceOutcome.APOLOGISED
    line.command("hangup")
    line.wait_for("CALL_CLOSED")


# --- Tried as an attacker would ----------------------------------------------------------------------------------------


def test_nobody_reaches_a_voice_line_but_through_an_entry_number_or_poses_as_one(sip, voice, entry, said):
    """A voice line is reached only by a call kamailio routed to it from an entry number: dialling it by name is
    outside the dial plan, registering as it needs Ringback's credentials for it, and a call sent straight to the
    application's own port (past kamailio) is hung up unanswered, leaving no session."""
    from .test_attacks import _registration

    line = sip.line("+33612000059", credentials("+33612000059"))
    line.command("dial", "sip:ivr-1@127.0.0.1")
    assert line.wait_for("CALL_CLOSED")["param"].startswith("403"), "not in the dial plan"
    impostor = sip.line("ivr-2", credentials("+33612000059"))
    assert _registration(impostor) == "SIP/2.0 403 Forbidden: not your address"
    line.command("dial", "sip:ivr-3@127.0.0.1:5200")  # straight to the voice application's baresip
    line.wait_for_count("CALL_CLOSED", 2)
    assert not line.seen("CALL_ESTABLISHED")
    said("that Ringback did not send there refused")
    assert not VoiceSession.objects.exists()
