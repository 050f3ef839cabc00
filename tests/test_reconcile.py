"""`manage.py reconcile`: callbacks whose state disagrees with their offers, interactions and calls are found,
repaired through the lifecycle and reported; consistent ones are left alone."""

from io import StringIO

import pytest
from django.core.management import call_command

from callbacks import lifecycle
from callbacks.enums import CallbackState, CallState, HistoryKind, InteractionState, OfferOutcome
from callbacks.models import Call, CallbackRequest, Interaction, Offer

from .factories import make_callback, set_ready

pytestmark = pytest.mark.django_db(transaction=True)


def reconcile(*args) -> str:
    out = StringIO()
    call_command("reconcile", *args, stdout=out)
    return out.getvalue()


def accepted(queue, alice, phone="+33612345678"):
    set_ready(alice)
    cb = make_callback(queue, phone)
    return cb, lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get(callback=cb).pk)


def test_consistent_callbacks_are_left_alone(queue, alice):
    accepted(queue, alice)
    make_callback(queue, "+33612345999")
    assert reconcile() == "0 callbacks repaired; every other callback is consistent.\n"


def test_an_offered_callback_with_no_ringing_offer_goes_back_in_line(queue, alice, bob):
    set_ready(alice)
    cb = make_callback(queue)
    Offer.objects.filter(callback=cb).update(outcome=OfferOutcome.WITHDRAWN)  # a crash between two writes, say
    assert "dry" not in reconcile("--dry-run")
    assert CallbackRequest.objects.get(pk=cb.pk).state == CallbackState.OFFERED  # a dry run changes nothing
    report = reconcile()
    assert f"{cb.reference}: the callback was offered but no offer rang: back in line" in report
    assert "1 callback repaired" in report
    assert cb.history.filter(kind=HistoryKind.RECONCILED).exists()
    assert Offer.objects.filter(callback=cb, outcome=OfferOutcome.OPEN).count() == 1  # routed again at once
    assert reconcile().startswith("0 callbacks repaired")


def test_a_ringing_offer_on_a_waiting_callback_ends(queue, alice):
    set_ready(alice)
    cb = make_callback(queue)
    CallbackRequest.objects.filter(pk=cb.pk).update(state=CallbackState.SCHEDULED)
    report = reconcile()
    assert "an offer to Alice was still ringing while the callback was scheduled: ended" in report
    assert not Offer.objects.filter(callback=cb, outcome=OfferOutcome.OPEN).exists()


def test_in_progress_without_an_open_interaction_goes_back_in_line(queue, alice):
    cb, interaction = accepted(queue, alice)
    Interaction.objects.filter(pk=interaction.pk).update(state=InteractionState.DONE)
    assert "in progress but no interaction was open: back in line" in reconcile()
    assert CallbackRequest.objects.get(pk=cb.pk).state in (CallbackState.QUEUED, CallbackState.OFFERED)


def test_an_open_interaction_on_a_closed_callback_and_its_live_call_end(queue, alice):
    cb, interaction = accepted(queue, alice)
    lifecycle.do_call(user=alice.user, interaction_id=interaction.pk)
    CallbackRequest.objects.filter(pk=cb.pk).update(state=CallbackState.COMPLETED)
    report = reconcile()
    assert "Alice's interaction was open while the callback was completed: closed" in report
    assert "a call was still up after its interaction closed: ended, line released" in report
    assert Interaction.objects.get(pk=interaction.pk).state == InteractionState.DONE
    assert Call.objects.get(interaction=interaction).state == CallState.ENDED
    assert reconcile().startswith("0 callbacks repaired")
