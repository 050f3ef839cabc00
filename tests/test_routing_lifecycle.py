"""The core flow: a request reaches a Ready agent, who accepts or rejects; nothing is lost."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from callbacks import lifecycle
from callbacks.dispatcher import sweep_once
from callbacks.enums import AgentStatus, CallbackState, CallbackType, HistoryKind, InteractionState, OfferOutcome
from callbacks.errors import DomainError, Refused
from callbacks.models import Agent, AgentChannelStatus, HistoryEvent, Interaction, Offer
from callbacks.presenters.offers import shown_at, shown_stamp
from callbacks.views.render import render_push

from .factories import make_agent, make_callback, make_queue, numbers, refreshed, set_ready, shown


def open_offer(callback):
    return Offer.objects.filter(callback=callback, outcome=OfferOutcome.OPEN).first()


def kinds(callback):
    return list(HistoryEvent.objects.filter(callback=callback).values_list("kind", flat=True))


def test_new_callback_waits_in_queue_when_nobody_is_ready(queue, alice):
    callback = make_callback(queue)
    assert callback.state == CallbackState.QUEUED
    assert open_offer(callback) is None
    assert kinds(callback) == [HistoryKind.CREATED]


def test_queued_callback_is_offered_the_moment_an_agent_goes_ready(queue, alice):
    callback = make_callback(queue)
    set_ready(alice)
    offer = open_offer(callback)
    assert offer.agent == alice
    assert refreshed(callback).state == CallbackState.OFFERED
    # Until the page shows it, the offer only has the delivery window (10 s) and the grace for an acknowledgement
    # read late (10 s); then the queue's 30 s to answer.
    assert offer.deadline == offer.created_at + timedelta(seconds=20)
    shown_at = offer.created_at + timedelta(seconds=2)
    with time_machine.travel(shown_at, tick=False):
        shown(offer)
    assert refreshed(offer).deadline == shown_at + timedelta(seconds=30)


def test_an_offer_no_page_showed_goes_to_the_next_agent_without_burning_the_first(queue, alice, bob):
    set_ready(alice)
    callback = make_callback(queue)
    set_ready(bob)
    with time_machine.travel(timezone.now() + timedelta(seconds=21), tick=False):
        sweep_once()
    assert Offer.objects.get(callback=callback, agent=alice).outcome == OfferOutcome.NOT_DELIVERED
    assert open_offer(callback).agent == bob
    assert AgentChannelStatus.objects.get(agent=alice, channel="voice").status == AgentStatus.READY
    assert "Not delivered to Alice's page within 10 s" in [e.message for e in callback.history.all()]


def card_stamp(html: str) -> str:
    return re.search(r'name="shown" value="([^"]+)"', html).group(1)


def test_an_acknowledgement_sent_in_time_and_read_late_keeps_the_offer(queue, alice, bob):
    """A saturated server reads the page's acknowledgement after the delivery window: the offer stays with the agent
    whose page showed it, and the time to answer counts from when the card was rendered for that page."""
    set_ready(alice)
    start = timezone.now().replace(microsecond=0)  # the stamp keeps milliseconds
    with time_machine.travel(start, tick=False):
        callback = make_callback(queue)
    offer = open_offer(callback)
    set_ready(bob)
    with time_machine.travel(start + timedelta(seconds=1), tick=False):  # the card is rendered and shown
        card = render_push(
            Agent.objects.get(pk=alice.pk), {"events": ["offer.new"], "bare": [], "entities": {"offer.new": [offer.pk]}}
        )
    stamp = card_stamp(card)
    with time_machine.travel(start + timedelta(seconds=14), tick=False):  # the clock runs before the ack is read
        sweep_once()
    assert refreshed(offer).outcome == OfferOutcome.OPEN, "an offer whose acknowledgement may be in flight stays"
    with time_machine.travel(start + timedelta(seconds=15), tick=False):  # read 14 s after it was sent
        lifecycle.do_acknowledge_offer(agent_id=alice.pk, offer_id=offer.pk, shown_at=shown_at(offer.pk, stamp))
    offer = refreshed(offer)
    assert offer.delivered_at == start + timedelta(seconds=1)
    assert offer.deadline == start + timedelta(seconds=31), "30 s to answer from the render, as the page counts"
    with time_machine.travel(start + timedelta(seconds=25), tick=False):
        sweep_once()
    assert refreshed(offer).outcome == OfferOutcome.OPEN
    lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)  # her Accept is not refused with 409
    assert refreshed(callback).state == CallbackState.IN_PROGRESS


def test_a_forged_or_borrowed_shown_stamp_counts_for_nothing(queue, alice):
    set_ready(alice)
    offer = open_offer(make_callback(queue))
    stamp = shown_stamp(offer.pk)
    assert shown_at(offer.pk, stamp) is not None
    assert shown_at(offer.pk + 1, stamp) is None, "another offer's stamp is not this one's"
    assert shown_at(offer.pk, stamp.replace(":", ":9", 1)) is None, "a time changed by the page breaks the signature"
    assert shown_at(offer.pk, "123") is None and shown_at(offer.pk, None) is None


def test_new_callback_is_offered_at_once_to_a_ready_agent(queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    assert open_offer(callback).agent == alice


def test_accept_opens_an_interaction_and_records_history(queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=open_offer(callback).pk)
    assert interaction.state == InteractionState.OPEN
    assert refreshed(callback).state == CallbackState.IN_PROGRESS
    assert kinds(callback) == [HistoryKind.CREATED, HistoryKind.OFFERED, HistoryKind.ACCEPTED]


def test_busy_agent_is_not_offered_a_second_callback(queue, alice):
    set_ready(alice)
    first = make_callback(queue, phone=numbers(2)[0])
    lifecycle.do_accept_offer(user=alice.user, offer_id=open_offer(first).pk)
    second = make_callback(queue, phone=numbers(2)[1])
    assert open_offer(second) is None
    assert refreshed(second).state == CallbackState.QUEUED


def test_mark_done_completes_the_callback_and_frees_the_agent_for_the_next(queue, alice):
    set_ready(alice)
    first, second = (make_callback(queue, phone=n) for n in numbers(2))
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=open_offer(first).pk)
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    assert refreshed(first).state == CallbackState.COMPLETED
    assert open_offer(second).agent == alice


def test_rejected_callback_goes_to_next_ready_agent(queue, alice, bob):
    set_ready(alice)
    callback = make_callback(queue)
    set_ready(bob)
    assert open_offer(callback).agent == alice
    lifecycle.do_reject_offer(user=alice.user, offer_id=open_offer(callback).pk)
    assert open_offer(callback).agent == bob
    assert kinds(callback) == [HistoryKind.CREATED, HistoryKind.OFFERED, HistoryKind.REJECTED, HistoryKind.OFFERED]


def test_rejecter_is_not_offered_it_again_while_another_ready_agent_exists(queue, alice, bob):
    set_ready(alice)
    set_ready(bob)
    busy = make_callback(queue, phone=numbers(2)[0])
    # alice got the first call; bob takes it over after alice rejects.
    lifecycle.do_reject_offer(user=alice.user, offer_id=open_offer(busy).pk)
    lifecycle.do_accept_offer(user=bob.user, offer_id=open_offer(busy).pk)
    # Now a second callback: alice rejects; bob is Ready but busy, so it waits for bob.
    callback = make_callback(queue, phone=numbers(2)[1])
    lifecycle.do_reject_offer(user=alice.user, offer_id=open_offer(callback).pk)
    assert open_offer(callback) is None
    assert refreshed(callback).state == CallbackState.QUEUED


def test_rejecter_gets_it_again_when_they_are_the_only_ready_agent(queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    lifecycle.do_reject_offer(user=alice.user, offer_id=open_offer(callback).pk)
    assert open_offer(callback).agent == alice


def test_offer_times_out_and_goes_to_the_next_agent_who_is_ready(queue, alice, bob):
    set_ready(alice)
    callback = make_callback(queue)
    shown(open_offer(callback))
    set_ready(bob)
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        sweep_once()
    assert Offer.objects.get(callback=callback, agent=alice).outcome == OfferOutcome.TIMED_OUT
    assert open_offer(callback).agent == bob
    # An agent who does not answer goes Not Ready, so the next call does not ring an empty desk.
    status = AgentChannelStatus.objects.get(agent=alice, channel="voice")
    assert (status.status, status.reason.name) == (AgentStatus.NOT_READY, "Missed offer")


def test_offer_is_not_timed_out_before_its_deadline(queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    shown(open_offer(callback))
    with time_machine.travel(timezone.now() + timedelta(seconds=29), tick=False):
        sweep_once()
    assert open_offer(callback).agent == alice


def test_returned_callback_keeps_its_place_in_line(queue, alice, bob):
    older, newer = numbers(2)
    first = make_callback(queue, phone=older)
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        second = make_callback(queue, phone=newer)
        set_ready(alice)
        assert open_offer(first).agent == alice
        lifecycle.do_reject_offer(user=alice.user, offer_id=open_offer(first).pk)
        # alice is the only Ready agent: she is offered the older one again, before the newer.
        assert open_offer(first).agent == alice
        assert open_offer(second) is None


def test_higher_priority_then_immediate_then_longest_waiting(queue, alice):
    a, b, c, d = numbers(4)
    low = make_callback(queue, phone=a, priority=3, type=CallbackType.IMMEDIATE)
    delayed = make_callback(queue, phone=b, type=CallbackType.DELAYED)
    immediate = make_callback(queue, phone=c, type=CallbackType.IMMEDIATE)
    urgent = make_callback(queue, phone=d, priority=9, type=CallbackType.DELAYED)
    set_ready(alice)
    order = []
    for _ in range(4):
        offer = Offer.objects.get(agent=alice, outcome=OfferOutcome.OPEN)
        order.append(offer.callback_id)
        interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
        lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    assert order == [urgent.pk, immediate.pk, delayed.pk, low.pk]


def test_scheduled_callback_is_not_routed_before_its_time_and_is_at_its_time(queue, alice):
    set_ready(alice)
    when = timezone.now() + timedelta(hours=2)
    callback = make_callback(queue, type=CallbackType.SCHEDULED, desired_time=when, customer_timezone="America/New_York")
    assert callback.state == CallbackState.SCHEDULED
    with time_machine.travel(when - timedelta(seconds=1), tick=False):
        sweep_once()
    assert refreshed(callback).state == CallbackState.SCHEDULED
    with time_machine.travel(when, tick=False):
        sweep_once()
    assert open_offer(callback).agent == alice
    assert HistoryKind.DUE in kinds(callback)


def test_agent_of_another_queue_is_not_offered_the_callback(queue, alice):
    other = make_queue("support")
    dave = make_agent("dave", other)
    set_ready(dave)
    callback = make_callback(queue)
    assert open_offer(callback) is None


def test_voice_ready_agent_is_not_offered_web_callbacks(queue, alice):
    set_ready(alice, "voice")
    callback = make_callback(queue, channel="web_callback")
    assert open_offer(callback) is None
    set_ready(alice, "web_callback")
    assert open_offer(callback).agent == alice


def test_duplicate_request_returns_the_open_callback(queue):
    first = make_callback(queue, phone="+33612345678")
    again = make_callback(queue, phone="+33 6 12 34 56 78")
    assert again.pk == first.pk
    assert kinds(first) == [HistoryKind.CREATED, HistoryKind.DUPLICATE]


def test_closed_callback_does_not_block_a_new_request(queue, alice):
    set_ready(alice)
    first = make_callback(queue)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=open_offer(first).pk)
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    second = make_callback(queue)
    assert second.pk != first.pk


# --- Illegal transitions ----------------------------------------------------


def test_accepting_an_expired_offer_is_refused(queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    offer = open_offer(callback)
    with time_machine.travel(offer.deadline + timedelta(seconds=1), tick=False):
        with pytest.raises(DomainError, match="expired"):
            lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    assert refreshed(offer).outcome == OfferOutcome.OPEN  # the sweep times it out, nothing half-written
    assert not Interaction.objects.exists()


def test_rejecting_twice_is_refused(queue, alice, bob):
    set_ready(alice)
    set_ready(bob)
    callback = make_callback(queue)
    offer = open_offer(callback)
    lifecycle.do_reject_offer(user=offer.agent.user, offer_id=offer.pk)
    with pytest.raises(DomainError, match="no longer offered"):
        lifecycle.do_reject_offer(user=offer.agent.user, offer_id=offer.pk)


def test_accepting_after_rejecting_is_refused(queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    offer = open_offer(callback)
    lifecycle.do_reject_offer(user=alice.user, offer_id=offer.pk)
    with pytest.raises(DomainError):
        lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)


def test_acting_on_someone_elses_offer_is_refused(queue, alice, bob):
    set_ready(alice)
    callback = make_callback(queue)
    offer = open_offer(callback)
    with pytest.raises(Refused):
        lifecycle.do_accept_offer(user=bob.user, offer_id=offer.pk)
    with pytest.raises(Refused):
        lifecycle.do_reject_offer(user=bob.user, offer_id=offer.pk)
    assert refreshed(offer).outcome == OfferOutcome.OPEN


def test_mark_done_twice_is_refused(queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=open_offer(callback).pk)
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    with pytest.raises(DomainError, match="already done"):
        lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)


def test_not_ready_reason_must_be_active(queue, alice):
    from callbacks.models import NotReadyReason

    gone = NotReadyReason.objects.create(name="Old", active=False)
    with pytest.raises(DomainError, match="not available"):
        lifecycle.do_set_status(user=alice.user, channel="voice", status="not_ready", reason_id=gone.pk)


def test_cancel_withdraws_the_ringing_offer(queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    offer = open_offer(callback)
    lifecycle.do_cancel_callback(reference=callback.reference, reason="Customer hung up the app")
    assert refreshed(offer).outcome == OfferOutcome.WITHDRAWN
    assert refreshed(callback).state == CallbackState.CANCELLED


def test_logging_out_returns_ringing_offers_to_the_queue(queue, alice, bob):
    set_ready(alice)
    callback = make_callback(queue)
    set_ready(bob)
    lifecycle.do_log_out(user=alice.user)
    assert open_offer(callback).agent == bob
    assert set(AgentChannelStatus.objects.filter(agent=alice).values_list("status", flat=True)) == {AgentStatus.LOGGED_OUT}


# --- Restart ----------------------------------------------------------------


def test_offers_that_expired_while_down_are_timed_out_on_restart_and_nothing_is_lost(queue, alice, bob):
    set_ready(alice)
    ringing = [make_callback(queue, phone=n) for n in numbers(3)]
    shown(Offer.objects.get(agent=alice, outcome=OfferOutcome.OPEN))
    later = make_callback(
        queue, phone="+33699999999", type=CallbackType.SCHEDULED, desired_time=timezone.now() + timedelta(minutes=10)
    )
    # Every process stops; an hour later the dispatcher starts again.
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        set_ready(bob)
        sweep_once()
        offers = Offer.objects.filter(agent=alice)
        assert offers.get().outcome == OfferOutcome.TIMED_OUT
        assert refreshed(later).state in (CallbackState.QUEUED, CallbackState.OFFERED)
        states = sorted(refreshed(c).state for c in [*ringing, later])
    assert states.count(CallbackState.OFFERED) == 1  # bob rings with one
    assert states.count(CallbackState.QUEUED) == 3  # the rest wait; none lost
