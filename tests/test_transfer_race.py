"""Instant Call Transfer to an agent whom routing rings at the same moment: a clear refusal, never a 500.
Hold time is accounted in one place, whatever ends the hold."""

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections, transaction
from django.utils import timezone

from callbacks import lifecycle, routing
from callbacks.enums import AgentStatus, CallbackState, CallState, OfferOutcome
from callbacks.errors import DomainError
from callbacks.lifecycle import offers
from callbacks.models import AgentChannelStatus, Offer

from .factories import make_callback, refreshed
from .test_calls import connected


def _wait_until_blocked_on_a_lock(timeout: float = 20) -> None:
    """PostgreSQL: until another session waits on a row or index lock (SQLite: its writer waits on ours)."""
    if connection.vendor != "postgresql":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)


def test_transfer_to_an_agent_routing_rings_at_the_same_moment_is_refused_clearly(queue, alice, bob):
    interaction, call = connected(alice, queue)
    waiting = make_callback(queue, phone="+33612000009")  # nobody free: it waits
    # bob goes Ready without routing, so the two racers below decide who rings him.
    AgentChannelStatus.objects.create(agent=bob, channel="voice", status=AgentStatus.READY, since=timezone.now())
    routed = threading.Event()
    outcome: dict = {}

    def routing_rings_bob():
        try:
            with transaction.atomic():
                choice = routing.choose(queue.pk, "voice", timezone.now())
                lifecycle.make_offer(callback=choice.callback, agent=choice.agent, now=timezone.now())
                routed.set()
                _wait_until_blocked_on_a_lock()  # hold the offer uncommitted until the transfer runs into it
        finally:
            connections.close_all()

    def alice_transfers():
        routed.wait(20)
        try:
            lifecycle.do_transfer(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
            outcome["transfer"] = "done"
        except DomainError as exc:
            outcome["transfer"] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=routing_rings_bob), threading.Thread(target=alice_transfers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    refusal = outcome["transfer"]
    assert isinstance(refusal, DomainError)
    assert refusal.status == 409
    assert "Bob" in refusal.message and ("just offered" in refusal.message or "busy" in refusal.message)
    assert Offer.objects.get(agent=bob, outcome=OfferOutcome.OPEN).callback == waiting
    # The refused transfer changed nothing: alice still has the customer on the line.
    assert refreshed(call).state == CallState.CONNECTED
    assert refreshed(interaction.callback).state == CallbackState.IN_PROGRESS


def test_create_offer_answers_none_when_the_agent_is_already_ringing(queue, alice):
    first = make_callback(queue, phone="+33612000001")
    second = make_callback(queue, phone="+33612000002")
    with transaction.atomic():
        assert lifecycle.make_offer(callback=first, agent=alice, now=timezone.now()) is not None
        assert offers.create_offer(second, alice, timezone.now()) is None


@pytest.mark.parametrize("then", ["conference", "transfer_to_queue", "end", "resume", "consult_and_complete"])
def test_sixty_seconds_on_hold_are_counted_whatever_ends_the_hold(queue, alice, bob, then):
    interaction, call = connected(alice, queue)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        lifecycle.do_hold_call(user=alice.user, interaction_id=interaction.pk)
    with time_machine.travel(start + timedelta(seconds=60), tick=False):
        lifecycle.do_set_status(user=bob.user, channel="voice", status=AgentStatus.READY)
        ix = interaction.pk
        if then == "conference":  # the hold ends when Bob accepts the request and joins
            party = lifecycle.do_conference(user=alice.user, interaction_id=ix, target=f"agent:{bob.pk}")
            lifecycle.do_accept_conference(user=bob.user, party_id=party.pk)
        elif then == "transfer_to_queue":
            lifecycle.do_transfer(user=alice.user, interaction_id=ix, target=f"queue:{queue.pk}")
        elif then == "end":
            lifecycle.do_end_call(user=alice.user, interaction_id=ix)
        elif then == "resume":
            lifecycle.do_resume_call(user=alice.user, interaction_id=ix)
        else:
            consult = lifecycle.do_start_consultation(user=alice.user, interaction_id=ix, target=f"agent:{bob.pk}")
            lifecycle.do_accept_consultation(user=bob.user, consultation_id=consult.pk)
            lifecycle.do_complete_consultation(user=alice.user, consultation_id=consult.pk, mode="conference")
    call = refreshed(call)
    assert call.hold_seconds == 60
    assert call.hold_started_at is None
