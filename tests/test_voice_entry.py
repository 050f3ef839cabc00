"""The voice entry's database side: kamailio's question (`/sip/entry`) opens a session on a free line, stamped with
the call's arrival; the menu's booking keeps that place in line; a session that ends leaves nothing but itself.
The same through real SIP: tests/sip/test_voice.py."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from callbacks import lifecycle
from callbacks.enums import CallbackState, HistoryKind, Origin
from callbacks.errors import DomainError
from callbacks.models import CallbackRequest, EntryNumber, VoiceOutcome, VoiceSession
from tests.factories import make_callback, make_queue
from tests.test_softphone_reports import proxy, refused

ENTRY = "+33184880010"


@pytest.fixture
def entry(db):
    return EntryNumber.objects.create(queue=make_queue("billing", name="Billing"), number=ENTRY, language="fr")


def ask(client, dialled=ENTRY, caller="+33612345678", call_id="abc123@127.0.0.1", **kwargs):
    return proxy(client, f"{dialled}|{caller}|{call_id}", path="/sip/entry", **kwargs)


def test_a_call_to_an_entry_number_takes_a_free_line_and_the_same_call_keeps_it(client, entry):
    r = ask(client)
    assert (r.status_code, r.text) == (200, "ivr-1")
    session = VoiceSession.objects.get()
    assert (session.queue, session.caller, session.dialled, session.language) == (entry.queue, "+33612345678", ENTRY, "fr")
    assert ask(client).text == "ivr-1", "kamailio asking again about the same call"
    assert ask(client, call_id="other@127.0.0.1").text == "ivr-2"
    assert VoiceSession.objects.count() == 2


def test_when_every_line_has_a_call_the_caller_hears_busy_and_an_ended_call_frees_its_line(client, entry, settings):
    settings.RINGBACK_VOICE_LINES = 2
    assert ask(client, call_id="a").text == "ivr-1"
    assert ask(client, call_id="b").text == "ivr-2"
    assert ask(client, call_id="c").status_code == 503
    ended = lifecycle.do_end_voice_session(line="ivr-1", call_id="a")
    assert ended.outcome == VoiceOutcome.HUNG_UP, "no verdict before the end: hung up before confirming"
    assert ask(client, call_id="c").text == "ivr-1"


def test_a_line_a_lost_call_held_for_hours_is_free_again(client, entry, settings):
    settings.RINGBACK_VOICE_LINES = 1
    assert ask(client, call_id="lost").text == "ivr-1"
    VoiceSession.objects.update(arrived_at=timezone.now() - timedelta(hours=3))
    assert ask(client, call_id="new").text == "ivr-1"
    assert VoiceSession.objects.get(call_id="lost").outcome == VoiceOutcome.FAILED


def test_one_line_never_holds_two_open_calls(entry):
    now = timezone.now()
    fields = {"line": "ivr-1", "queue": entry.queue, "dialled": ENTRY, "arrived_at": now}
    VoiceSession.objects.create(call_id="a", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        VoiceSession.objects.create(call_id="b", **fields)


@pytest.mark.parametrize(
    ("question", "status"),
    [
        ({"dialled": "+33184880099"}, 404),  # no entry number: kamailio routes the call as before
        ({"dialled": "billing"}, 404),
        ({"caller": "x" * 65}, 400),
        ({"call_id": "has space"}, 400),
        ({"call_id": ""}, 400),
    ],
)
def test_what_is_no_entry_call_opens_nothing(client, entry, question, status):
    assert ask(client, **question).status_code == status
    assert not VoiceSession.objects.exists()


def test_an_inactive_entry_number_or_queue_is_not_answered(client, entry):
    EntryNumber.objects.update(active=False)
    assert ask(client).status_code == 404
    EntryNumber.objects.update(active=True)
    entry.queue.active = False
    entry.queue.save()
    assert ask(client).status_code == 404


@pytest.mark.parametrize(("attempt", "reason"), [({"token": "0" * 64}, "token"), ({"address": "203.0.113.9"}, "address")])
def test_only_kamailio_may_ask(client, entry, attempt, reason):
    """The question opens a session and stamps a place in line: from the proxy's address with its token only."""
    before = refused(reason)
    assert ask(client, **attempt).status_code == 403
    assert refused(reason) == before + 1
    assert not VoiceSession.objects.exists()


def test_an_anonymous_caller_has_no_number(client, entry):
    ask(client, caller="anonymous")
    assert VoiceSession.objects.get().caller == ""


def test_a_callback_booked_in_the_menu_keeps_the_calls_arrival_as_its_place_in_line(client, entry):
    ask(client)
    session = VoiceSession.objects.get()
    VoiceSession.objects.update(arrived_at=timezone.now() - timedelta(minutes=3))
    earlier = make_callback(entry.queue, phone="+33611111111")  # asked on the web while our caller was in the menu
    callback = lifecycle.do_book_from_voice(session_id=session.pk, number="+33612345678")
    session.refresh_from_db()
    assert callback.origin == Origin.IVR and callback.language == "fr"
    assert callback.enqueued_at == session.arrived_at < earlier.enqueued_at, "ahead of the web request made later"
    assert (session.outcome, session.callback) == (VoiceOutcome.BOOKED, callback)
    message = callback.history.get(kind=HistoryKind.CALL).message
    assert message.startswith("Call from +33 6 12 34 56 78 to +33 1 84 88 00 10 at ") and "booked" in message


def test_a_caller_cancels_their_open_callback_but_not_one_an_agent_works_on(client, entry):
    waiting = make_callback(entry.queue, phone="+33612345678")
    ask(client)
    session = VoiceSession.objects.get()
    assert lifecycle.do_cancel_from_voice(session_id=session.pk) == waiting
    assert CallbackRequest.objects.get().state == CallbackState.CANCELLED
    session.refresh_from_db()
    assert session.outcome == VoiceOutcome.CANCELLED
    worked = make_callback(entry.queue, phone="+33612345678")
    CallbackRequest.objects.filter(pk=worked.pk).update(state=CallbackState.IN_PROGRESS)
    ask(client, call_id="second")
    with pytest.raises(DomainError):
        lifecycle.do_cancel_from_voice(session_id=VoiceSession.objects.get(call_id="second").pk)


def test_admin_keeps_entry_numbers_in_e164_and_refuses_what_is_no_number(entry):
    number = EntryNumber(queue=entry.queue, number="+33 1 84 88 00 11")
    number.full_clean()
    assert number.number == "+33184880011"
    with pytest.raises(ValidationError) as error:
        EntryNumber(queue=entry.queue, number="billing").full_clean()
    assert "number" in error.value.message_dict
