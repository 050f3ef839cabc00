"""Customer-first dialling (and customers told to call in), the database side: who Ringback calls first, the customer on the line offered to agents,
Accept handing the customer over, retries, the apology after the hold limit. On real SIP: tests/sip/test_voice.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks import lifecycle
from callbacks.enums import CallbackState, CallOutcome, CallState, DialMode, HistoryKind, OfferOutcome, RetryAction
from callbacks.models import Call, CallbackRequest, EntryNumber, Offer, RetryRule, VoiceOutcome, VoiceSession
from tests.factories import make_agent, make_callback, make_queue, set_ready
from tests.gms_client import GmsClient, GmsFailure
from tests.test_softphone_reports import proxy


@pytest.fixture
def queue(transactional_db):
    return make_queue("billing", name="Billing", dial_mode=DialMode.CUSTOMER_FIRST, caller_id="+33184880000")


@pytest.fixture
def alice(queue):
    return make_agent("alice", queue)


def test_a_due_callback_is_not_offered_until_ringback_has_the_customer_on_the_line(queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    assert not Offer.objects.exists(), "customer first: agents get only customers on the line"
    session = lifecycle.do_dial_next_customer()
    assert (session.callback, session.direction, session.dialled, session.line) == (callback, "out", "+33612345678", "ivr-1")
    callback.refresh_from_db()
    assert callback.attempts == 1
    assert callback.history.filter(kind=HistoryKind.CALL, message__startswith="Calling the customer first, as").exists()
    assert lifecycle.do_customer_on_line(session_id=session.pk)
    offer = Offer.objects.get(outcome=OfferOutcome.OPEN)
    assert (offer.callback, offer.agent) == (callback, alice)


def test_ringback_calls_no_more_customers_than_it_has_ready_agents(queue, alice):
    make_callback(queue, phone="+33612345678")
    make_callback(queue, phone="+33612345679")
    assert lifecycle.do_dial_next_customer() is None, "nobody Ready: nobody is called"
    set_ready(alice)
    assert lifecycle.do_dial_next_customer() is not None
    assert lifecycle.do_dial_next_customer() is None, "one Ready agent: one customer at a time"


def test_an_agent_first_queue_is_never_dialled_first(transactional_db):
    queue = make_queue("sales")
    set_ready(make_agent("bob", queue))
    make_callback(queue)
    assert Offer.objects.filter(outcome=OfferOutcome.OPEN).exists(), "offered to Bob as always"
    assert lifecycle.do_dial_next_customer() is None


def test_accept_hands_the_customer_on_the_line_to_the_agent(queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    session = lifecycle.do_dial_next_customer()
    lifecycle.do_customer_on_line(session_id=session.pk)
    offer = Offer.objects.get(outcome=OfferOutcome.OPEN)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    call = Call.objects.get(interaction=interaction)
    assert (call.state, call.number) == (CallState.CONNECTED, "+33612345678"), "connected at once: the customer is there"
    session.refresh_from_db()
    assert session.refer_to == f"agent-{alice.pk}", "the voice line REFERs the customer to Alice's phone"
    callback.refresh_from_db()
    assert callback.on_line_since is None and callback.state == CallbackState.IN_PROGRESS
    lifecycle.do_customer_handed_over(session_id=session.pk)
    session.refresh_from_db()
    assert session.outcome == VoiceOutcome.CONNECTED


def test_no_answer_follows_the_queues_retry_rule_until_the_attempts_are_used(queue, alice):
    RetryRule.objects.create(queue=queue, outcome=CallOutcome.NO_ANSWER, action=RetryAction.RETRY, delay_minutes=10)
    set_ready(alice)
    callback = make_callback(queue, max_attempts=2)
    session = lifecycle.do_dial_next_customer()
    before = timezone.now()
    lifecycle.do_customer_unreached(session_id=session.pk, outcome=CallOutcome.NO_ANSWER)
    callback.refresh_from_db()
    assert callback.state == CallbackState.SCHEDULED
    assert before + timedelta(minutes=10) <= callback.desired_time <= timezone.now() + timedelta(minutes=10)
    assert "No answer (Ringback called first): automatic retry at" in callback.history.last().message
    lifecycle.do_end_voice_session(line=session.line, call_id=session.call_id)
    CallbackRequest.objects.filter(pk=callback.pk).update(state=CallbackState.QUEUED, desired_time=timezone.now())
    second = lifecycle.do_dial_next_customer()
    lifecycle.do_customer_unreached(session_id=second.pk, outcome=CallOutcome.BUSY)
    callback.refresh_from_db()
    assert (callback.state, callback.outcome) == (CallbackState.FAILED, "Attempts exhausted: busy")
    second.refresh_from_db()
    assert second.outcome == VoiceOutcome.BUSY


def test_no_agent_within_the_hold_limit_books_a_new_time_and_ends_the_offer(queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    session = lifecycle.do_dial_next_customer()
    lifecycle.do_customer_on_line(session_id=session.pk)
    offer = Offer.objects.get(outcome=OfferOutcome.OPEN)
    when = lifecycle.do_customer_hold_expired(session_id=session.pk)
    assert when >= timezone.now() + timedelta(minutes=14)
    callback.refresh_from_db()
    assert (callback.state, callback.desired_time, callback.on_line_since) == (CallbackState.SCHEDULED, when, None)
    offer.refresh_from_db()
    assert offer.outcome != OfferOutcome.OPEN, "the offer ringing Alice ended"
    session.refresh_from_db()
    assert session.outcome == VoiceOutcome.APOLOGISED


def test_a_hold_limit_reached_after_accept_changes_nothing(queue, alice):
    set_ready(alice)
    make_callback(queue)
    session = lifecycle.do_dial_next_customer()
    lifecycle.do_customer_on_line(session_id=session.pk)
    lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get(outcome=OfferOutcome.OPEN).pk)
    assert lifecycle.do_customer_hold_expired(session_id=session.pk) is None


def test_the_customer_chooses_another_time_on_ringbacks_call(queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    session = lifecycle.do_dial_next_customer()
    slot = (timezone.now() + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    lifecycle.do_move_from_voice(session_id=session.pk, when=slot)
    callback.refresh_from_db()
    assert (callback.state, callback.desired_time) == (CallbackState.SCHEDULED, slot)
    session.refresh_from_db()
    assert session.outcome == VoiceOutcome.MOVED


def test_the_proxy_learns_the_queues_caller_id_for_a_voice_lines_call_out_and_nothing_else(client, queue, alice):
    set_ready(alice)
    make_callback(queue)
    session = lifecycle.do_dial_next_customer()
    r = proxy(client, f"sip-call-id|{session.line}|+33612345678", path="/sip/caller-id")
    assert (r.status_code, r.text) == (200, "+33184880000")
    assert proxy(client, f"x|{session.line}|+33899999999", path="/sip/caller-id").status_code == 403, "another number"
    assert proxy(client, "x|ivr-4|+33612345678", path="/sip/caller-id").status_code == 403, "a line with no call out"
    assert VoiceSession.objects.count() == 1


# --- A customer told to call in (GMS's USERORIGINATED) -------------------------------------------------------------------


@pytest.fixture
def agent_first(transactional_db):
    queue = make_queue("billing-in", name="Billing", gms_service="billing-cb")
    EntryNumber.objects.create(queue=queue, number="+33184880010", language="en")
    return queue


@pytest.fixture
def gms(gms_http):
    """A GMS client written from the public contract (tests/gms_client.py), as a customer's app would use it."""
    return GmsClient(gms_http)


def called_in(queue) -> VoiceSession:
    """The customer's call reached the entry number (the proxy asked Ringback, which opened a session)."""
    return lifecycle.do_open_voice_session(dialled="+33184880010", caller="+33612345678", call_id="in-1")


def test_userorig_answers_dial_number_and_the_callback_waits_for_the_customers_call(gms, agent_first):
    bob = make_agent("bob", agent_first)
    set_ready(bob)
    answer = gms.start("billing-cb", "+33612345678", call_direction="USERORIGINATED")
    assert answer["_action"] == "DialNumber" and answer["_tel_url"] == "tel:+33184880010"
    callback = CallbackRequest.objects.get(reference=answer["_id"])
    assert callback.customer_dials_in and callback.window_end is not None
    assert not Offer.objects.exists(), "Bob is not asked to call a customer who is about to call"
    session = called_in(agent_first)
    assert lifecycle.do_customer_dialled_in(session_id=session.pk)
    offer = Offer.objects.get(outcome=OfferOutcome.OPEN)
    assert (offer.callback, offer.agent) == (callback, bob)
    interaction = lifecycle.do_accept_offer(user=bob.user, offer_id=offer.pk)
    assert Call.objects.get(interaction=interaction).state == CallState.CONNECTED
    assert VoiceSession.objects.get(pk=session.pk).refer_to == f"agent-{bob.pk}"


def test_a_customer_who_hangs_up_before_an_agent_may_call_in_again(gms, agent_first):
    bob = make_agent("bob", agent_first)
    set_ready(bob)
    reference = gms.start("billing-cb", "+33612345678", call_direction="USERORIGINATED")["_id"]
    session = called_in(agent_first)
    lifecycle.do_customer_dialled_in(session_id=session.pk)
    lifecycle.do_customer_left_line(session_id=session.pk)
    callback = CallbackRequest.objects.get(reference=reference)
    assert callback.state == CallbackState.QUEUED and callback.on_line_since is None and callback.customer_dials_in
    assert Offer.objects.get().outcome == OfferOutcome.WITHDRAWN and not Offer.objects.filter(outcome=OfferOutcome.OPEN).exists()
    assert callback.history.filter(message__startswith="The customer hung up before an agent took them").exists()
    again = lifecycle.do_open_voice_session(dialled="+33184880010", caller="+33612345678", call_id="in-2")
    assert lifecycle.do_customer_dialled_in(session_id=again.pk)


def test_a_customer_who_never_calls_in_expires_saying_so(gms, agent_first):
    reference = gms.start("billing-cb", "+33612345678", call_direction="USERORIGINATED")["_id"]
    lifecycle.do_expire_windows(now=timezone.now() + timedelta(minutes=16))
    callback = CallbackRequest.objects.get(reference=reference)
    assert callback.state == CallbackState.FAILED and callback.outcome == "Expired: the customer did not call in"


def test_wait_for_agent_with_nobody_free_is_a_callback_ringback_places(gms, agent_first):
    answer = gms.start("billing-cb", "+33612345678", call_direction="USERORIGINATED", wait_for_agent=True)
    assert answer["_action"] == "ConfirmationDialog"
    assert not CallbackRequest.objects.get(reference=answer["_id"]).customer_dials_in
    lifecycle.do_cancel_callback(reference=answer["_id"])  # or Bob, once Ready, is busy with its offer
    set_ready(make_agent("bob", agent_first))
    dial = gms.start("billing-cb", "+33612345679", call_direction="USERORIGINATED", wait_for_agent=True)
    assert (dial["_action"], dial["_tel_url"]) == ("DialNumber", "tel:+33184880010")


def test_userorig_needs_an_entry_number_and_an_immediate_start(gms, agent_first):
    later = timezone.now() + timedelta(days=1)
    scheduled = gms.start("billing-cb", "+33612345678", call_direction="USERORIGINATED", desired_time=later)
    assert scheduled["_action"] == "ConfirmationDialog", "a scheduled start is always USERTERMINATED"
    EntryNumber.objects.all().delete()
    with pytest.raises(GmsFailure) as refused:
        gms.start("billing-cb", "+33612345679", call_direction="USERORIGINATED")
    assert (refused.value.status, refused.value.exception.rsplit(".", 1)[-1]) == (400, "CallbackExceptionInvalid")
    assert "no voice entry number" in refused.value.message
    with pytest.raises(GmsFailure) as wrong:
        gms.start("billing-cb", "+33612345679", call_direction="SIDEWAYS")
    assert wrong.value.status == 400
