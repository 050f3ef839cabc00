"""The voice entry on real SIP: customers are baresip lines that dial a queue's entry number through kamailio, hear
Ringback's voice application (`manage.py voice`, a baresip Ringback drives) and key their choices as RFC 4733 events.
"""

import time
from datetime import timedelta

import pytest

from callbacks import calendars
from callbacks.enums import CallbackState, CallbackType, Channel, HistoryKind, Origin
from callbacks.models import CallbackRequest, EntryNumber, Queue, VoiceOutcome, VoiceSession
from callbacks.telephony.sip import credentials

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
        time.sleep(0.25)  # one RFC 4733 event after the other, as a thumb on a keypad


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
    time.sleep(1.5)  # a second of the greeting, then the caller knows what to press
    keys(line, "1")
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


def test_a_caller_keys_another_number_with_a_mistake_then_correctly(server, sip, voice, entry, said):
    line = caller(sip, "+33612000052")
    keys(line, "2")
    said("enter_number")
    keys(line, "0612#")  # too short
    said("invalid enter_number")
    keys(line, "0612000099#")  # a French number keyed as the French do: read in the entry number's country
    said("read_number digits:***99 confirm")
    keys(line, "1")
    ended(line, VoiceOutcome.BOOKED)
    assert CallbackRequest.objects.get().phone_number == "+33612000099"


def test_a_caller_chooses_a_time_and_the_callback_is_scheduled_for_it(server, sip, voice, entry, said):
    line = caller(sip, "+33612000053")
    keys(line, "3")
    said("press n:1 for")  # "for today at 14 hours 30, press 1, for …"
    keys(line, "1")
    said("read_number digits:***53")
    keys(line, "1")
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
