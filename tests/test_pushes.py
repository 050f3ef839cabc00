"""Exactly which events each action sends, and that a rolled-back action sends none."""

import asyncio

import pytest
from django.db import transaction
from django.utils import timezone

from callbacks import lifecycle
from callbacks.enums import OfferOutcome
from callbacks.errors import DomainError
from callbacks.models import AgentChannelStatus, Offer
from callbacks.push import agent_group, doorbell

from .factories import make_callback, set_ready


def test_offer_sends_offer_new_to_the_agent_only(queue, alice, bob, pushes):
    set_ready(alice)
    pushes.listen(agent_group(alice.pk))
    pushes.listen(agent_group(bob.pk))
    make_callback(queue)
    assert pushes.received() == [(agent_group(alice.pk), "offer.new")]


def test_accept_sends_interaction_changed(queue, alice, pushes):
    set_ready(alice)
    make_callback(queue)
    offer = Offer.objects.get(outcome=OfferOutcome.OPEN)
    pushes.listen(agent_group(alice.pk))
    lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    assert pushes.received() == [(agent_group(alice.pk), "interaction.changed")]


def test_reject_ends_the_offer_for_one_agent_and_rings_the_next(queue, alice, bob, pushes):
    set_ready(alice)
    make_callback(queue)
    set_ready(bob)
    offer = Offer.objects.get(outcome=OfferOutcome.OPEN)
    pushes.listen(agent_group(alice.pk))
    pushes.listen(agent_group(bob.pk))
    lifecycle.do_reject_offer(user=alice.user, offer_id=offer.pk)
    assert pushes.received() == [(agent_group(alice.pk), "offer.ended"), (agent_group(bob.pk), "offer.new")]


def test_status_change_sends_status_changed(queue, alice, pushes):
    pushes.listen(agent_group(alice.pk))
    set_ready(alice)
    assert pushes.received() == [(agent_group(alice.pk), "status.changed")]


def test_refused_action_sends_nothing(queue, alice, bob, pushes):
    set_ready(alice)
    make_callback(queue)
    offer = Offer.objects.get(outcome=OfferOutcome.OPEN)
    pushes.listen(agent_group(alice.pk))
    with pytest.raises(DomainError):
        lifecycle.do_accept_offer(user=bob.user, offer_id=offer.pk)
    assert pushes.received() == []


def test_action_rolled_back_by_the_caller_sends_nothing(queue, alice, pushes):
    pushes.listen(agent_group(alice.pk))
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            lifecycle.change_status(alice, "voice", "ready", reason=None, actor=None, now=timezone.now())
            raise RuntimeError("boom")
    assert pushes.received() == []


def test_a_push_that_cannot_be_scheduled_never_breaks_the_action(queue, alice, pushes):
    # The server's loop is caught between "running" and "closed", as during a shutdown.
    loop = asyncio.new_event_loop()
    loop.close()
    loop.is_running = lambda: True
    doorbell.bind(loop)
    pushes.listen(agent_group(alice.pk))
    try:
        set_ready(alice)  # the commit stands; nothing escapes the on-commit push
    finally:
        doorbell.loop = None
    assert AgentChannelStatus.objects.get(agent=alice, channel="voice").status == "ready"
    lifecycle.do_set_status(user=alice.user, channel="voice", status="not_ready")
    # The first doorbell was lost (the page re-reads the truth on its next update); the next one goes out.
    assert pushes.received() == [(agent_group(alice.pk), "status.changed")]
