"""Every action's pushes leave each agent's page equal to a fresh render (see tests/verify.py)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.utils import timezone

from callbacks import lifecycle
from callbacks.enums import AgentStatus, CallbackType, CallOutcome, CallState, OfferOutcome, RetryAction
from callbacks.models import CallbackRequest, ContactEmail, DispositionCode, Offer, RetryRule
from callbacks.telephony.simulator.models import SimCall
from callbacks.telephony.simulator.switch import SimulatedSwitch

from .factories import make_agent, make_callback, set_ready, shown, worker
from .test_calls import connected
from .verify import verify_action


def open_offer(agent):
    return Offer.objects.get(agent=agent, outcome=OfferOutcome.OPEN)


def test_going_ready_rings_and_pushes_status_and_notification(queue, alice, bob):
    make_callback(queue)
    pushed = verify_action([alice, bob], lambda: set_ready(alice))
    assert pushed[alice.pk] == {"status", "quiet", "offer cards"}  # Ready (and the hint goes); routing rings her: the card
    assert pushed[bob.pk] == set()


def test_accept_reject_and_mark_done(queue, alice, bob):
    set_ready(alice)
    set_ready(bob)
    make_callback(queue)
    first = open_offer(alice)
    verify_action([alice, bob], lambda: lifecycle.do_reject_offer(user=alice.user, offer_id=first.pk))
    offer = open_offer(bob)
    verify_action([alice, bob], lambda: lifecycle.do_accept_offer(user=bob.user, offer_id=offer.pk))
    interaction = offer.callback.interactions.get()
    verify_action([alice, bob], lambda: lifecycle.do_mark_done(user=bob.user, interaction_id=interaction.pk))


def test_the_call_and_what_the_switch_reports(queue, alice):
    set_ready(alice)
    offer = Offer.objects.get(callback=make_callback(queue), outcome=OfferOutcome.OPEN)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    verify_action([alice], lambda: lifecycle.do_call(user=alice.user, interaction_id=interaction.pk))
    pushed = verify_action([alice], worker)  # the switch took the dial: the customer phone link appears
    assert "interaction" in pushed[alice.pk]
    sim = SimCall.objects.get()
    verify_action([alice], lambda: SimulatedSwitch().customer_answers(sim))
    verify_action([alice], lambda: lifecycle.do_hold_call(user=alice.user, interaction_id=interaction.pk))
    verify_action([alice], lambda: lifecycle.do_resume_call(user=alice.user, interaction_id=interaction.pk))
    verify_action([alice], lambda: SimulatedSwitch().customer_hangs_up(SimCall.objects.get()))


def test_instant_transfer_to_an_agent_and_their_accept(queue, alice, bob, carol):
    interaction, _ = connected(alice, queue)
    set_ready(bob)
    pushed = verify_action(
        [alice, bob, carol],
        lambda: lifecycle.do_transfer(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}"),
    )
    assert "interaction" in pushed[alice.pk] and "notifications" in pushed[bob.pk]
    offer = open_offer(bob)
    verify_action([alice, bob], lambda: lifecycle.do_accept_offer(user=bob.user, offer_id=offer.pk))


def test_transfer_to_a_queue_rings_the_next_agent(queue, alice, bob):
    interaction, _ = connected(alice, queue)
    set_ready(bob)
    verify_action(
        [alice, bob],
        lambda: lifecycle.do_transfer(user=alice.user, interaction_id=interaction.pk, target=f"queue:{queue.pk}"),
    )


def test_conference_join_and_leave(queue, alice, bob):
    interaction, call = connected(alice, queue)
    set_ready(bob)
    verify_action(
        [alice, bob],
        lambda: lifecycle.do_conference(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}"),
    )
    party = call.parties.get()
    verify_action([alice, bob], lambda: lifecycle.do_accept_conference(user=bob.user, party_id=party.pk))
    verify_action([alice, bob], lambda: lifecycle.do_leave_conference(user=bob.user, party_id=party.pk))


def test_conference_request_declined(queue, alice, bob):
    interaction, call = connected(alice, queue)
    set_ready(bob)
    party = lifecycle.do_conference(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    verify_action([alice, bob], lambda: lifecycle.do_decline_conference(user=bob.user, party_id=party.pk))


def test_consultation_request_accept_and_complete_as_transfer(queue, alice, bob):
    interaction, _ = connected(alice, queue)
    lifecycle.do_set_status(user=bob.user, channel="voice", status=AgentStatus.NOT_READY)
    consult = (
        verify_action(
            [alice, bob],
            lambda: lifecycle.do_start_consultation(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}"),
        )
        and verify_action.result
    )
    verify_action([alice, bob], lambda: lifecycle.do_accept_consultation(user=bob.user, consultation_id=consult.pk))
    verify_action(
        [alice, bob], lambda: lifecycle.do_complete_consultation(user=alice.user, consultation_id=consult.pk, mode="transfer")
    )


def test_consultation_declined_and_ended(queue, alice, bob):
    interaction, _ = connected(alice, queue)
    lifecycle.do_set_status(user=bob.user, channel="voice", status=AgentStatus.NOT_READY)
    first = lifecycle.do_start_consultation(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    verify_action([alice, bob], lambda: lifecycle.do_decline_consultation(user=bob.user, consultation_id=first.pk))
    second = lifecycle.do_start_consultation(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    lifecycle.do_accept_consultation(user=bob.user, consultation_id=second.pk)
    verify_action([alice, bob], lambda: lifecycle.do_end_consultation(user=bob.user, consultation_id=second.pk))


def test_offer_expiry_returns_the_callback_and_sets_the_agent_not_ready(queue, alice, bob):
    set_ready(alice)
    make_callback(queue)
    offer = shown(open_offer(alice))
    with time_machine.travel(offer.deadline + timedelta(seconds=1), tick=False):
        set_ready(bob)  # free, so the expired callback rings bob next
        pushed = verify_action([alice, bob], lambda: lifecycle.do_expire_offers())
    assert pushed[alice.pk] == {"status", "quiet", "offer cards"}  # Not Ready, "Set yourself Ready", the card goes
    assert "offer cards" in pushed[bob.pk]  # the returned callback rings bob: its card alone
    assert open_offer(bob).callback == offer.callback


def test_reminder_of_a_personal_callback(queue, alice):
    callback = make_callback(
        queue, type=CallbackType.SCHEDULED, desired_time=timezone.now() + timedelta(minutes=3), customer_name="Léa Moreau"
    )
    CallbackRequest.objects.filter(pk=callback.pk).update(owner=alice)
    pushed = verify_action([alice], lambda: lifecycle.do_remind_owners())
    assert pushed[alice.pk] == {"notifications"}


def test_due_callback_rings_a_ready_agent(queue, alice):
    callback = make_callback(queue, type=CallbackType.SCHEDULED, desired_time=timezone.now() + timedelta(minutes=3))
    set_ready(alice)
    with time_machine.travel(callback.desired_time + timedelta(seconds=1), tick=False):
        pushed = verify_action([alice], lambda: lifecycle.do_enqueue_due())
    assert pushed[alice.pk] == {"offer cards"}  # the due callback rings her: its card alone


def test_email_queued_then_sent_by_the_worker(queue, alice):
    interaction, _ = connected(alice, queue)
    ContactEmail.objects.create(contact=interaction.callback.contact, address="lea@example.com")
    opened = []
    pushed = verify_action(
        [alice],
        lambda: opened.append(lifecycle.do_open_email(user=alice.user, interaction_id=interaction.pk, to="lea@example.com")),
    )
    assert pushed[alice.pk] == {"emails"}  # the call window is untouched
    pushed = verify_action(
        [alice],
        lambda: lifecycle.do_send_email(user=alice.user, email_id=opened[0].pk, to="lea@example.com", subject="Hi", body="Hello"),
    )
    assert pushed[alice.pk] == {"notifications", "interaction", "emails"}  # Queued, and the Case history shows it
    pushed = verify_action([alice], worker)
    assert pushed[alice.pk] == {"notifications", "interaction", "emails"}  # Sent
    pushed = verify_action([alice], lambda: lifecycle.do_close_email(user=alice.user, email_id=opened[0].pk))
    assert pushed[alice.pk] == {"emails"}


def test_a_discarded_email_draft_leaves_the_desk_and_the_call_window_alone(queue, alice):
    interaction, _ = connected(alice, queue)
    ContactEmail.objects.create(contact=interaction.callback.contact, address="lea@example.com")
    email = lifecycle.do_open_email(user=alice.user, interaction_id=interaction.pk, to="lea@example.com")
    pushed = verify_action([alice], lambda: lifecycle.do_discard_email(user=alice.user, email_id=email.pk))
    assert pushed[alice.pk] == {"emails"}


def test_after_call_work_ends_by_itself(queue, alice):
    queue.after_call_work_seconds = 30
    queue.save()
    interaction, _ = connected(alice, queue)
    lifecycle.do_end_call(user=alice.user, interaction_id=interaction.pk)
    verify_action([alice], lambda: lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk))
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        pushed = verify_action([alice], lambda: lifecycle.do_end_after_call_work())
    assert pushed[alice.pk] == {"status", "quiet"}


def test_a_bystander_sees_nothing_change(queue, alice):
    dave = make_agent("dave", queue)
    interaction, call = connected(alice, queue)
    assert call.state == CallState.CONNECTED
    pushed = verify_action([dave], lambda: lifecycle.do_hold_call(user=alice.user, interaction_id=interaction.pk))
    assert pushed[dave.pk] == set()


def test_note_disposition_and_dtmf(queue, alice):
    interaction, _ = connected(alice, queue)
    code = DispositionCode.objects.create(code="solved", label="Solved")
    verify_action([alice], lambda: lifecycle.do_add_note(user=alice.user, interaction_id=interaction.pk, text="Called back"))
    verify_action([alice], lambda: lifecycle.do_set_disposition(user=alice.user, interaction_id=interaction.pk, code_id=code.pk))
    verify_action([alice], lambda: lifecycle.do_send_dtmf(user=alice.user, interaction_id=interaction.pk, digits="42#"))


def test_reschedule_closes_the_window(queue, alice):
    interaction, _ = connected(alice, queue)
    when = timezone.localtime(timezone.now() + timedelta(days=1), ZoneInfo("Europe/Paris")).replace(
        hour=10, minute=0, second=0, microsecond=0, tzinfo=None
    )
    verify_action([alice], lambda: lifecycle.do_reschedule_callback(user=alice.user, interaction_id=interaction.pk, when=when))


def test_cancel_and_logout_while_ringing(queue, alice, bob):
    set_ready(alice)
    callback = make_callback(queue)
    verify_action([alice], lambda: lifecycle.do_cancel_callback(reference=callback.reference, reason="Solved online"))
    make_callback(queue, phone="+33612000002")
    set_ready(bob)
    pushed = verify_action([alice, bob], lambda: lifecycle.do_log_out(user=alice.user))
    assert "offer cards" in pushed[bob.pk]  # the withdrawn offer rings bob at once


def test_busy_with_an_automatic_retry_closes_the_window_with_a_notice(queue, alice):
    RetryRule.objects.create(queue=queue, outcome=CallOutcome.BUSY, action=RetryAction.RETRY, delay_minutes=10)
    set_ready(alice)
    offer = Offer.objects.get(callback=make_callback(queue, phone="+33612340001"), outcome=OfferOutcome.OPEN)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    lifecycle.do_call(user=alice.user, interaction_id=interaction.pk)
    worker()
    pushed = verify_action([alice], lambda: SimulatedSwitch().customer_hangs_up(SimCall.objects.get()))
    assert "interaction" in pushed[alice.pk]
