"""Exactly which events each action sends, and that a rolled-back action sends none."""

import asyncio

import pytest
from django.db import transaction
from django.utils import timezone

from callbacks import lifecycle
from callbacks.enums import OfferOutcome
from callbacks.errors import DomainError
from callbacks.models import AgentChannelStatus, CallbackRequest, Offer
from callbacks.push import agent_group, doorbell, entities_for, regions_for

from .factories import make_callback, set_ready
from .verify import verify_action


def test_offer_sends_offer_new_to_the_agent_only(queue, alice, bob, pushes):
    set_ready(alice)
    pushes.listen(agent_group(alice.pk))
    pushes.listen(agent_group(bob.pk))
    make_callback(queue)
    assert pushes.received() == [(agent_group(alice.pk), "offer.new")]


def test_accept_opens_the_window_and_ends_the_offers_card_in_one_message(queue, alice, pushes):
    set_ready(alice)
    make_callback(queue)
    offer = Offer.objects.get(outcome=OfferOutcome.OPEN)
    pushes.listen(agent_group(alice.pk))
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    assert pushes.messages() == [
        {
            "type": "ringback.event",
            "events": ["interaction.opened", "offer.ended"],
            "bare": [],
            "entities": {"interaction.opened": [interaction.pk], "offer.ended": [offer.pk]},
        }
    ]
    # The window and the card's removal alone: no region re-renders.
    assert regions_for(pushes.last) == []
    assert entities_for(pushes.last) == {"interaction.opened": [interaction.pk], "offer.ended": [offer.pk]}


def test_mark_done_removes_the_window_alone(queue, alice, pushes):
    set_ready(alice)
    make_callback(queue)
    offer = Offer.objects.get(outcome=OfferOutcome.OPEN)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    pushes.listen(agent_group(alice.pk))
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    assert len(pushes.messages()) == 1
    assert pushes.last["entities"] == {"interaction.closed": [interaction.pk]} and pushes.last["bare"] == []
    assert regions_for(pushes.last) == [] and entities_for(pushes.last) == {"interaction.closed": [interaction.pk]}


def test_an_entity_whose_region_re_renders_is_rendered_with_it():
    """A window named alone is folded into its region when that region re-renders anyway (and the notices its
    opening ends come with it); an offer's card into the notifications the same way."""
    opened = {
        "events": ["interaction.changed", "interaction.opened"],
        "bare": ["interaction.changed"],
        "entities": {"interaction.opened": [7]},
    }
    assert regions_for(opened) == ["notifications", "interaction"] and entities_for(opened) == {}
    closed_with_status = {
        "events": ["interaction.closed", "status.changed"],
        "bare": ["status.changed"],
        "entities": {"interaction.closed": [7]},
    }
    assert regions_for(closed_with_status) == ["status", "quiet"]
    assert entities_for(closed_with_status) == {"interaction.closed": [7]}
    both = {
        "events": ["interaction.closed", "interaction.opened"],
        "bare": ["interaction.closed"],
        "entities": {"interaction.opened": [8]},
    }
    assert regions_for(both) == ["notices", "interaction"] and entities_for(both) == {}


def test_mark_done_on_a_personal_callback_re_renders_the_notifications_that_list_it(queue, alice, pushes):
    """My callbacks shows the owner's callbacks with their state: the narrow events widen on the owner's desk."""
    callback = make_callback(queue)
    CallbackRequest.objects.filter(pk=callback.pk).update(owner=alice)
    set_ready(alice)
    offer = Offer.objects.get(outcome=OfferOutcome.OPEN)
    pushes.listen(agent_group(alice.pk))
    verify_action([alice], lambda: lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk))
    interaction = verify_action.result
    verify_action([alice], lambda: lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk))
    assert [m["bare"] for m in pushes.messages()] == [["interaction.changed", "offer.ended"], ["interaction.changed"]]


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
