"""Call handling: the state machine, every forbidden action, the switch, retries on a controlled clock."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from callbacks import callstate, lifecycle
from callbacks.dispatcher import sweep_once
from callbacks.enums import (
    AgentStatus,
    CallbackState,
    CallOutcome,
    CallState,
    ConsultState,
    InteractionState,
    OfferOutcome,
    PartyState,
    RetryAction,
)
from callbacks.errors import DomainError, Invalid
from callbacks.models import (
    AgentChannelStatus,
    Call,
    CallbackRequest,
    ContactEmail,
    DispositionCode,
    HistoryEvent,
    Offer,
    RetryRule,
)
from callbacks.telephony.simulator.models import SimCall
from callbacks.telephony.simulator.switch import SimulatedSwitch, planned_outcome

from .factories import email_contact, make_calendar, make_callback, refreshed, set_ready, worker

ALL_STATUSES = [callstate.READY_TO_CALL, CallState.DIALING, CallState.CONNECTED, CallState.ON_HOLD]


# --- The state machine as data ----------------------------------------------------------


@pytest.mark.parametrize("act", sorted(callstate.ACTIONS))
@pytest.mark.parametrize("status", ALL_STATUSES)
def test_every_action_is_allowed_exactly_where_the_table_says(act, status):
    allowed = status in callstate.ACTIONS[act][0]
    if allowed:
        callstate.check(act, status)
    else:
        with pytest.raises(DomainError):
            callstate.check(act, status)


def test_late_events_do_not_apply():
    assert callstate.apply_event(CallState.ENDED, "answered") is None
    assert callstate.apply_event(CallState.CONNECTED, "busy") is None
    assert callstate.apply_event(CallState.DIALING, "answered") == (CallState.CONNECTED, CallOutcome.ANSWERED)


@pytest.mark.parametrize(
    ("number", "event", "seconds"),
    [
        ("+33612340001", "busy", 1),
        ("+33612340002", "no_answer", 4),
        ("+33612340003", "answering_machine", 2),
        ("+33612340004", "failed", 0),
        ("+33612340015", "answered", 5),
        ("+33612345678", "no_answer", 30),
    ],
)
def test_simulator_outcomes_are_deterministic(number, event, seconds, settings):
    settings.SIM_NO_ANSWER_SECONDS = 30
    assert planned_outcome(number) == (event, seconds)


# --- Helpers ------------------------------------------------------------------------------


def accepted(agent, queue, phone="+33612345678", **kw):
    set_ready(agent)
    callback = make_callback(queue, phone=phone, **kw)
    offer = Offer.objects.get(callback=callback, outcome=OfferOutcome.OPEN)
    return lifecycle.do_accept_offer(user=agent.user, offer_id=offer.pk)


def dial(agent, interaction):
    call = lifecycle.do_call(user=agent.user, interaction_id=interaction.pk)
    worker()  # the worker tells the switch
    return call


def answer(call):
    SimulatedSwitch().customer_answers(SimCall.objects.get(call_ref=call.switch_ref))
    return refreshed(call)


def test_a_queues_caller_id_goes_with_the_dial_and_the_simulated_switch_records_it(alice, queue):
    """`dial` carries the queue's number and name; the simulated switch keeps them, and the customer's phone page
    shows who is calling."""
    queue.caller_id, queue.caller_id_name = "+33184880000", "Billing"
    queue.save()
    call = dial(alice, accepted(alice, queue))
    sim = SimCall.objects.get(call_ref=call.switch_ref)
    assert sim.caller_id == "Billing <+33184880000>"
    assert sim.log[0].startswith("dial +33612345678 as Billing <+33184880000>: ")


def test_a_queue_without_a_number_of_its_own_dials_with_the_sites(alice, queue, settings):
    settings.RINGBACK_SIP_CALLER_ID = "+33100000000"
    call = dial(alice, accepted(alice, queue))
    assert SimCall.objects.get(call_ref=call.switch_ref).caller_id == "+33100000000"


def connected(agent, queue, **kw):
    interaction = accepted(agent, queue, **kw)
    call = answer(dial(agent, interaction))
    assert call.state == CallState.CONNECTED
    return interaction, call


def texts(callback):
    return list(HistoryEvent.objects.filter(callback=callback).values_list("message", flat=True))


# --- Call, answer, hold, resume, DTMF, end -------------------------------------------------------


def test_call_dials_the_customer_and_counts_the_attempt(queue, alice):
    interaction = accepted(alice, queue)
    call = dial(alice, interaction)
    assert (call.state, call.attempt) == (CallState.DIALING, 1)
    assert refreshed(interaction.callback).attempts == 1
    assert SimCall.objects.get(call_ref=call.switch_ref).line == "ringing"  # the switch was asked after commit
    assert "Dialing +33 6 12 34 56 78 (attempt 1 of 3)" in texts(interaction.callback)


def test_number_that_answers_by_itself_connects_when_its_time_comes(queue, alice):
    interaction = accepted(alice, queue, phone="+33612340013")
    call = dial(alice, interaction)
    with time_machine.travel(timezone.now() + timedelta(seconds=2), tick=False):
        sweep_once()
    assert refreshed(call).state == CallState.DIALING
    with time_machine.travel(timezone.now() + timedelta(seconds=4), tick=False):
        sweep_once()
    assert refreshed(call).state == CallState.CONNECTED


def test_hold_and_resume_accumulate_hold_time(queue, alice):
    interaction, call = connected(alice, queue)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        lifecycle.do_hold_call(user=alice.user, interaction_id=interaction.pk)
    with time_machine.travel(start + timedelta(seconds=42), tick=False):
        lifecycle.do_resume_call(user=alice.user, interaction_id=interaction.pk)
    call = refreshed(call)
    assert (call.state, call.hold_seconds) == (CallState.CONNECTED, 42)
    assert SimCall.objects.get(call_ref=call.switch_ref).line == "connected"


def test_dtmf_goes_to_the_switch_and_into_the_case_history(queue, alice):
    interaction, call = connected(alice, queue)
    lifecycle.do_send_dtmf(user=alice.user, interaction_id=interaction.pk, digits="12#")
    worker()
    assert "DTMF sent: 12#" in texts(interaction.callback)
    assert SimCall.objects.get(call_ref=call.switch_ref).keyed_by_agent == "12#"


def test_customer_keys_are_recorded(queue, alice):
    interaction, call = connected(alice, queue)
    SimulatedSwitch().customer_keys(SimCall.objects.get(call_ref=call.switch_ref), "9")
    assert "Customer keyed: 9" in texts(interaction.callback)


def test_customer_hanging_up_returns_to_ready_to_call(queue, alice):
    interaction, call = connected(alice, queue)
    SimulatedSwitch().customer_hangs_up(SimCall.objects.get(call_ref=call.switch_ref))
    call = refreshed(call)
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.REMOTE_HANGUP)
    assert callstate.status_of(lifecycle.calls.live_call(interaction, lock=False)) == callstate.READY_TO_CALL


def test_agent_ends_the_call_and_can_call_again(queue, alice):
    interaction, call = connected(alice, queue)
    lifecycle.do_end_call(user=alice.user, interaction_id=interaction.pk)
    assert refreshed(call).outcome == CallOutcome.AGENT_HANGUP
    again = dial(alice, interaction)
    assert again.attempt == 2


# --- Forbidden actions change nothing ---------------------------------------------------------


def test_hold_while_dialing_is_refused(queue, alice):
    interaction = accepted(alice, queue)
    call = dial(alice, interaction)
    with pytest.raises(DomainError, match="Only a connected call"):
        lifecycle.do_hold_call(user=alice.user, interaction_id=interaction.pk)
    assert refreshed(call).state == CallState.DIALING


@pytest.mark.parametrize(
    ("fn", "kwargs", "message"),
    [
        (lifecycle.do_end_call, {}, "no call to end"),
        (lifecycle.do_hold_call, {}, "Only a connected call"),
        (lifecycle.do_resume_call, {}, "Only a call on hold"),
        (lifecycle.do_send_dtmf, {"digits": "1"}, "DTMF needs a connected call"),
        (lifecycle.do_transfer, {"target": "queue:1"}, "Transfer needs a connected call"),
        (lifecycle.do_conference, {"target": "number:+33612345679"}, "Conference needs a connected call"),
    ],
)
def test_call_actions_without_a_call_are_refused(queue, alice, fn, kwargs, message):
    interaction = accepted(alice, queue)
    before = HistoryEvent.objects.count()
    with pytest.raises(DomainError, match=message):
        fn(user=alice.user, interaction_id=interaction.pk, **kwargs)
    assert HistoryEvent.objects.count() == before


def test_second_call_while_one_is_live_is_refused(queue, alice):
    interaction = accepted(alice, queue)
    dial(alice, interaction)
    with pytest.raises(DomainError, match="already in progress"):
        dial(alice, interaction)
    assert Call.objects.count() == 1


def test_mark_done_during_a_call_is_refused(queue, alice):
    interaction, _ = connected(alice, queue)
    with pytest.raises(DomainError, match="End the call"):
        lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    assert refreshed(interaction).state == InteractionState.OPEN


def test_hold_on_an_ended_call_is_refused(queue, alice):
    interaction, _ = connected(alice, queue)
    lifecycle.do_end_call(user=alice.user, interaction_id=interaction.pk)
    with pytest.raises(DomainError):
        lifecycle.do_hold_call(user=alice.user, interaction_id=interaction.pk)


@pytest.mark.parametrize("digits", ["", "12a", "1" * 33, "<script>"])
def test_bad_dtmf_is_refused(queue, alice, digits):
    interaction, _ = connected(alice, queue)
    with pytest.raises(Invalid):
        lifecycle.do_send_dtmf(user=alice.user, interaction_id=interaction.pk, digits=digits)


def test_someone_elses_interaction_is_refused(queue, alice, bob):
    interaction = accepted(alice, queue)
    with pytest.raises(DomainError):
        lifecycle.do_call(user=bob.user, interaction_id=interaction.pk)


# --- Retry policy by outcome, on a controlled clock -----------------------------------------------------


def _dial_outcome(agent, queue, phone):
    interaction = accepted(agent, queue, phone=phone)
    dial(agent, interaction)
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        sweep_once()
    return refreshed(interaction), refreshed(interaction.callback)


def test_busy_with_retry_rule_reschedules_and_redials_after_the_delay(queue, alice):
    RetryRule.objects.create(queue=queue, outcome=CallOutcome.BUSY, action=RetryAction.RETRY, delay_minutes=10)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        interaction, callback = _dial_outcome(alice, queue, "+33612340001")
    assert interaction.state == InteractionState.DONE
    assert callback.state == CallbackState.SCHEDULED
    assert abs((callback.desired_time - (start + timedelta(minutes=10, seconds=5))).total_seconds()) < 2
    with time_machine.travel(start + timedelta(minutes=11), tick=False):
        sweep_once()
        assert Offer.objects.filter(callback=callback, outcome=OfferOutcome.OPEN).exists()


def test_no_answer_without_a_rule_asks_the_agent(queue, alice):
    interaction, callback = _dial_outcome(alice, queue, "+33612340002")
    assert interaction.state == InteractionState.OPEN
    assert callback.state == CallbackState.IN_PROGRESS
    assert interaction.last_outcome.startswith("No answer. Call again (2 attempts left)")


def test_answering_machine_with_ask_rule_asks_the_agent(queue, alice):
    RetryRule.objects.create(queue=queue, outcome=CallOutcome.ANSWERING_MACHINE, action=RetryAction.ASK_AGENT)
    interaction, _ = _dial_outcome(alice, queue, "+33612340003")
    assert interaction.last_outcome.startswith("Answering machine.")


def test_failed_on_the_last_attempt_with_retry_rule_ends_failed_with_the_reason(queue, alice):
    RetryRule.objects.create(queue=queue, outcome=CallOutcome.FAILED, action=RetryAction.RETRY, delay_minutes=5)
    interaction, callback = _dial_outcome(alice, queue, "+33612340004")
    # attempt 1 failed -> retry scheduled; run it to the last attempt
    for attempt in (2, 3):
        with time_machine.travel(timezone.now() + timedelta(minutes=6 * attempt), tick=False):
            sweep_once()
            offer = Offer.objects.get(callback=callback, outcome=OfferOutcome.OPEN)
            ix = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
            dial(alice, ix)
        with time_machine.travel(timezone.now() + timedelta(minutes=6 * attempt, seconds=5), tick=False):
            sweep_once()
    callback = refreshed(callback)
    assert (callback.state, callback.attempts, callback.outcome) == (CallbackState.FAILED, 3, "Attempts exhausted: failed")


def test_exhausted_attempts_asked_agent_mark_done_fails_the_callback(queue, alice):
    interaction = accepted(alice, queue, phone="+33612340002", max_attempts=1)
    dial(alice, interaction)
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        sweep_once()
    assert "All 1 attempts used" in refreshed(interaction).last_outcome
    with pytest.raises(DomainError, match="attempts are used"):
        dial(alice, interaction)
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    callback = refreshed(interaction.callback)
    assert (callback.state, callback.outcome) == (CallbackState.FAILED, "Attempts exhausted: no answer")


# --- Wrap-up ------------------------------------------------------------------------------


def test_disposition_required_before_mark_done(queue, alice):
    queue.require_disposition = True
    queue.save()
    code = DispositionCode.objects.create(code="ok", label="Resolved")
    interaction = accepted(alice, queue)
    with pytest.raises(DomainError, match="Choose a disposition"):
        lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    lifecycle.do_set_disposition(user=alice.user, interaction_id=interaction.pk, code_id=code.pk)
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    assert refreshed(interaction.callback).outcome == "Resolved"


def test_disposition_that_needs_a_note(queue, alice):
    code = DispositionCode.objects.create(code="escalated", label="Escalated", note_required=True)
    interaction = accepted(alice, queue)
    lifecycle.do_set_disposition(user=alice.user, interaction_id=interaction.pk, code_id=code.pk)
    with pytest.raises(DomainError, match="needs a note"):
        lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    lifecycle.do_add_note(user=alice.user, interaction_id=interaction.pk, text="Sent to level 2")
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)


def test_disposition_of_another_queue_is_refused(queue, alice):
    from .factories import make_queue

    other = DispositionCode.objects.create(queue=make_queue("support"), code="x", label="Other queue")
    interaction = accepted(alice, queue)
    with pytest.raises(Invalid):
        lifecycle.do_set_disposition(user=alice.user, interaction_id=interaction.pk, code_id=other.pk)


def test_disposition_can_be_changed_after_the_call_ended(queue, alice):
    a = DispositionCode.objects.create(code="a", label="A")
    b = DispositionCode.objects.create(code="b", label="B")
    interaction, _ = connected(alice, queue)
    lifecycle.do_set_disposition(user=alice.user, interaction_id=interaction.pk, code_id=a.pk)
    lifecycle.do_end_call(user=alice.user, interaction_id=interaction.pk)
    lifecycle.do_set_disposition(user=alice.user, interaction_id=interaction.pk, code_id=b.pk)
    assert refreshed(interaction).disposition == b


def test_empty_note_is_refused(queue, alice):
    interaction = accepted(alice, queue)
    with pytest.raises(Invalid):
        lifecycle.do_add_note(user=alice.user, interaction_id=interaction.pk, text="   ")


def test_after_call_work_timer_returns_the_agent_to_ready(queue, alice):
    queue.after_call_work_seconds = 30
    queue.save()
    interaction = accepted(alice, queue)
    waiting = make_callback(queue, phone="+33612345600")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    status = AgentChannelStatus.objects.get(agent=alice, channel="voice")
    assert status.status == AgentStatus.AFTER_CALL_WORK
    assert not Offer.objects.filter(callback=waiting, outcome=OfferOutcome.OPEN).exists()
    with time_machine.travel(start + timedelta(seconds=31), tick=False):
        sweep_once()
    assert AgentChannelStatus.objects.get(agent=alice, channel="voice").status == AgentStatus.READY
    assert Offer.objects.get(callback=waiting, outcome=OfferOutcome.OPEN).agent == alice


# --- Reschedule -----------------------------------------------------------------------------


@pytest.fixture
def open_all_day(queue):
    """Open 08:00–20:00 Paris every day, and all of today (so the test's own callback rings whatever the hour)."""
    today = timezone.now().astimezone(ZoneInfo("Europe/Paris")).date()
    queue.calendar = make_calendar(hours={d: [("08:00", "20:00")] for d in range(7)}, exceptions=[(today, "00:00", "00:00")])
    queue.save()
    return queue


def test_reschedule_in_the_customer_zone_closes_the_attempt(open_all_day, alice):
    interaction, call = connected(alice, open_all_day, customer_timezone="America/New_York")
    local = (
        (timezone.now() + timedelta(days=1))
        .astimezone(ZoneInfo("America/New_York"))
        .replace(hour=9, minute=30, second=0, microsecond=0, tzinfo=None)
    )
    lifecycle.do_reschedule_callback(user=alice.user, interaction_id=interaction.pk, when=local)
    callback = refreshed(interaction.callback)
    assert callback.state == CallbackState.SCHEDULED
    assert callback.desired_time.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") == "09:30"
    assert refreshed(call).state == CallState.ENDED
    assert refreshed(interaction).state == InteractionState.DONE
    assert any("Rescheduled by Alice" in t for t in texts(callback))


def test_reschedule_outside_business_hours_is_refused(open_all_day, alice):
    interaction = accepted(alice, open_all_day, customer_timezone="Europe/Paris")
    late = (timezone.now() + timedelta(days=1)).astimezone(ZoneInfo("Europe/Paris")).replace(hour=22, minute=0, tzinfo=None)
    with pytest.raises(Invalid, match="does not take calls then"):
        lifecycle.do_reschedule_callback(user=alice.user, interaction_id=interaction.pk, when=late)
    assert refreshed(interaction.callback).state == CallbackState.IN_PROGRESS


def test_reschedule_in_the_past_is_refused(open_all_day, alice):
    interaction = accepted(alice, open_all_day)
    with pytest.raises(Invalid, match="future"):
        lifecycle.do_reschedule_callback(user=alice.user, interaction_id=interaction.pk, when=datetime(2020, 1, 1, 10, 0))


def test_reschedule_outside_the_availability_window_is_refused(open_all_day, alice):
    base = (timezone.now() + timedelta(days=2)).astimezone(ZoneInfo("Europe/Paris")).replace(minute=0, second=0, microsecond=0)
    # Available from now until 12:00 the day after tomorrow: it rings now, and may be moved inside the window only.
    interaction = accepted(
        alice,
        open_all_day,
        customer_timezone="Europe/Paris",
        window_start=timezone.now() - timedelta(hours=1),
        window_end=base.replace(hour=12),
        type="delayed",
    )
    with pytest.raises(Invalid, match="available"):
        lifecycle.do_reschedule_callback(user=alice.user, interaction_id=interaction.pk, when=base.replace(hour=14, tzinfo=None))
    lifecycle.do_reschedule_callback(user=alice.user, interaction_id=interaction.pk, when=base.replace(hour=11, tzinfo=None))


# --- Transfer, conference, consultation -------------------------------------------------------------------


def test_transfer_to_a_ready_agent_offers_the_live_call(queue, alice, bob):
    interaction, call = connected(alice, queue)
    set_ready(bob)
    lifecycle.do_transfer(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    assert refreshed(interaction).state == InteractionState.DONE
    offer = Offer.objects.get(agent=bob, outcome=OfferOutcome.OPEN)
    assert offer.call == call
    theirs = lifecycle.do_accept_offer(user=bob.user, offer_id=offer.pk)
    call = refreshed(call)
    assert (call.interaction_id, call.state) == (theirs.pk, CallState.CONNECTED)


def test_transfer_nobody_takes_releases_the_call_and_requeues(queue, alice, bob):
    interaction, call = connected(alice, queue)
    set_ready(bob)
    lifecycle.do_transfer(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    offer = Offer.objects.get(agent=bob, outcome=OfferOutcome.OPEN)
    lifecycle.do_reject_offer(user=bob.user, offer_id=offer.pk)
    assert refreshed(call).state == CallState.ENDED
    assert refreshed(interaction.callback).state in (CallbackState.QUEUED, CallbackState.OFFERED)


def test_transfer_to_an_agent_who_is_not_ready_is_refused(queue, alice, bob):
    interaction, call = connected(alice, queue)
    with pytest.raises(DomainError, match="not Ready"):
        lifecycle.do_transfer(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    assert refreshed(call).state == CallState.CONNECTED


def test_transfer_to_a_queue_puts_the_callback_back_with_its_history(queue, alice):
    from .factories import make_queue

    support = make_queue("support")
    interaction, call = connected(alice, queue)
    lifecycle.do_transfer(user=alice.user, interaction_id=interaction.pk, target=f"queue:{support.pk}")
    callback = refreshed(interaction.callback)
    assert (callback.queue, callback.state) == (support, CallbackState.QUEUED)
    assert refreshed(call).outcome == CallOutcome.TRANSFERRED
    assert "Instant Call Transfer to Support" in texts(callback)


def test_conference_adds_an_agent_who_accepts_and_can_leave(queue, alice, bob):
    interaction, call = connected(alice, queue)
    set_ready(bob)
    party = lifecycle.do_conference(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    assert list(call.parties.filter(left_at__isnull=True)) == [party]
    assert refreshed(party).state == PartyState.RINGING  # a request on Bob's desk until he answers
    with pytest.raises(DomainError, match="already in the conference"):
        lifecycle.do_conference(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    lifecycle.do_accept_conference(user=bob.user, party_id=party.pk)
    assert refreshed(party).state == PartyState.JOINED
    lifecycle.do_leave_conference(user=bob.user, party_id=party.pk)
    assert refreshed(party).left_at is not None


def test_consultation_holds_the_customer_and_the_target_may_decline(queue, alice, bob):
    interaction, call = connected(alice, queue)
    set_ready(bob)
    consult = lifecycle.do_start_consultation(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    assert refreshed(call).state == CallState.ON_HOLD
    with pytest.raises(DomainError):
        lifecycle.do_accept_consultation(user=alice.user, consultation_id=consult.pk)
    lifecycle.do_decline_consultation(user=bob.user, consultation_id=consult.pk)
    assert refreshed(consult).state == ConsultState.DECLINED
    with pytest.raises(DomainError, match="not active"):
        lifecycle.do_complete_consultation(user=alice.user, consultation_id=consult.pk, mode="transfer")


def test_consultation_ending_in_a_conference(queue, alice, bob):
    interaction, call = connected(alice, queue)
    set_ready(bob)
    consult = lifecycle.do_start_consultation(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    lifecycle.do_accept_consultation(user=bob.user, consultation_id=consult.pk)
    lifecycle.do_complete_consultation(user=alice.user, consultation_id=consult.pk, mode="conference")
    call = refreshed(call)
    assert call.state == CallState.CONNECTED
    assert call.parties.get().agent == bob


def test_either_side_can_end_the_consultation(queue, alice, bob):
    interaction, call = connected(alice, queue)
    set_ready(bob)
    consult = lifecycle.do_start_consultation(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    lifecycle.do_accept_consultation(user=bob.user, consultation_id=consult.pk)
    lifecycle.do_end_consultation(user=bob.user, consultation_id=consult.pk)
    assert refreshed(consult).state == ConsultState.ENDED
    with pytest.raises(DomainError, match="already ended"):
        lifecycle.do_end_consultation(user=alice.user, consultation_id=consult.pk)


def test_consulting_a_logged_out_agent_is_refused(queue, alice, bob):
    interaction, _ = connected(alice, queue)
    with pytest.raises(DomainError, match="logged out"):
        lifecycle.do_start_consultation(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")


# --- Party Action Menu --------------------------------------------------------------------------


def test_email_to_a_directory_address_is_sent_and_recorded(queue, alice, mailoutbox):
    interaction = accepted(alice, queue)
    ContactEmail.objects.create(contact=interaction.callback.contact, address="camille@example.com")
    email_contact(alice, interaction, to="camille@example.com", subject="Hello", body="We called.")
    assert mailoutbox == []  # queued in the transaction, sent by the worker
    assert "E-mail queued to camille@example.com by Alice: Hello" in texts(interaction.callback)
    worker()
    assert [m.to for m in mailoutbox] == [["camille@example.com"]]
    assert "E-mail sent to camille@example.com: Hello" in texts(interaction.callback)


def test_email_to_an_address_not_in_the_directory_is_refused(queue, alice, mailoutbox):
    interaction = accepted(alice, queue)
    with pytest.raises(Invalid):
        lifecycle.do_open_email(user=alice.user, interaction_id=interaction.pk, to="x@evil.example")
    assert mailoutbox == []
    assert not mail.outbox


def test_callback_rows_are_untouched_by_a_refused_reschedule(open_all_day, alice):
    interaction = accepted(alice, open_all_day)
    before = CallbackRequest.objects.values().get(pk=interaction.callback_id)
    with pytest.raises(Invalid):
        lifecycle.do_reschedule_callback(user=alice.user, interaction_id=interaction.pk, when=datetime(2020, 1, 1, 10))
    assert CallbackRequest.objects.values().get(pk=interaction.callback_id) == before
