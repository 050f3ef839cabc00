"""Routing points, as the seed describes for Reject and for an unanswered offer: a queue names where such a callback
goes (its own queue by default, another queue, or a routing point whose rules choose: overflow on wait, time of day);
routing points are also transfer targets."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from callbacks import lifecycle, routing
from callbacks.enums import CallbackEvent, CallbackState, HistoryKind, OfferOutcome, RuleCondition
from callbacks.models import CallbackRequest, Offer, RoutingPoint, RoutingRule

from .factories import make_agent, make_callback, make_queue, set_ready

pytestmark = pytest.mark.django_db(transaction=True)
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def queues(transactional_db):
    billing, support, sales = make_queue("billing"), make_queue("support"), make_queue("sales")
    alice = make_agent("alice", billing)
    carol = make_agent("carol", support)
    return {"billing": billing, "support": support, "sales": sales, "alice": alice, "carol": carol}


def _offer_of(callback) -> Offer:
    return Offer.objects.get(callback=callback, outcome=OfferOutcome.OPEN)


def test_by_default_a_rejected_callback_stays_in_its_own_queue(queues):
    set_ready(queues["alice"])
    cb = make_callback(queues["billing"])
    lifecycle.do_reject_offer(user=queues["alice"].user, offer_id=_offer_of(cb).pk)
    cb.refresh_from_db()
    assert cb.queue == queues["billing"]  # (rung again: Alice is the only Ready agent)
    assert not cb.history.filter(kind=HistoryKind.ROUTED).exists()


def test_a_rejected_callback_goes_to_the_queue_its_queue_names_and_rings_there(queues):
    billing = queues["billing"]
    billing.reject_queue = queues["support"]
    billing.save()
    set_ready(queues["alice"])
    set_ready(queues["carol"])
    cb = make_callback(billing)
    lifecycle.do_reject_offer(user=queues["alice"].user, offer_id=_offer_of(cb).pk)
    cb.refresh_from_db()
    assert cb.queue == queues["support"]
    assert cb.history.get(kind=HistoryKind.ROUTED).message == "Sent to Support after Reject"
    assert _offer_of(cb).agent == queues["carol"]  # routed in its new queue at once


def _time_out(callback, agent, *, waited_minutes: float):
    offer = lifecycle.do_acknowledge_offer(agent_id=agent.pk, offer_id=_offer_of(callback).pk)
    expiry = offer.deadline + timedelta(seconds=1)
    CallbackRequest.objects.filter(pk=callback.pk).update(enqueued_at=expiry - timedelta(minutes=waited_minutes))
    lifecycle.do_expire_offers(now=expiry)
    callback.refresh_from_db()
    return callback


@pytest.fixture
def overflow(queues):
    """Billing's unanswered offers go to a point: back to Billing while its oldest wait is under 5 minutes, else Support."""
    point = RoutingPoint.objects.create(name="Billing overflow", number="+33140000001")
    RoutingRule.objects.create(point=point, order=1, queue=queues["billing"], condition=RuleCondition.WAIT_UNDER, minutes=5)
    RoutingRule.objects.create(point=point, order=2, queue=queues["support"], condition=RuleCondition.ALWAYS)
    queues["billing"].timeout_point = point
    queues["billing"].save()
    return point


def test_a_timed_out_callback_overflows_when_the_oldest_wait_is_too_long(queues, overflow):
    set_ready(queues["alice"])
    cb = _time_out(make_callback(queues["billing"]), queues["alice"], waited_minutes=12)
    assert cb.queue == queues["support"]
    assert cb.history.get(kind=HistoryKind.ROUTED).message == "Sent to Support after an unanswered offer"


def test_a_timed_out_callback_stays_while_the_wait_is_short(queues, overflow):
    set_ready(queues["alice"])
    cb = _time_out(make_callback(queues["billing"]), queues["alice"], waited_minutes=1)
    assert cb.queue == queues["billing"]


def test_reject_rules_do_not_apply_to_a_time_out_and_back(queues, overflow):
    """Only the event the queue names sends a callback on: a Reject with only a time-out point stays home."""
    set_ready(queues["alice"])
    cb = make_callback(queues["billing"])
    CallbackRequest.objects.filter(pk=cb.pk).update(enqueued_at=timezone.now() - timedelta(minutes=30))
    lifecycle.do_reject_offer(user=queues["alice"].user, offer_id=_offer_of(cb).pk)
    cb.refresh_from_db()
    assert cb.queue == queues["billing"]


def test_time_of_day_rules_including_a_range_past_midnight(queues):
    point = RoutingPoint.objects.create(
        name="Follow the sun", number="+33140000002", timezone="Europe/Paris", queue=queues["billing"]
    )
    RoutingRule.objects.create(
        point=point, order=1, queue=queues["sales"], condition=RuleCondition.TIME_OF_DAY, starts=time(8), ends=time(18)
    )
    RoutingRule.objects.create(
        point=point, order=2, queue=queues["support"], condition=RuleCondition.TIME_OF_DAY, starts=time(22), ends=time(6)
    )

    def at(hh, mm=0):
        return datetime(2026, 12, 2, hh, mm, tzinfo=PARIS)

    assert routing.queue_from_point(point, at(8)) == queues["sales"]
    assert routing.queue_from_point(point, at(17, 59)) == queues["sales"]
    assert routing.queue_from_point(point, at(18)) == queues["billing"]  # no rule holds: the point's own queue
    assert routing.queue_from_point(point, at(23)) == queues["support"]
    assert routing.queue_from_point(point, at(3)) == queues["support"]
    assert routing.queue_from_point(point, at(6)) == queues["billing"]
    queues["sales"].active = False
    queues["sales"].save()
    assert routing.queue_from_point(point, at(9)) == queues["billing"]  # an inactive queue's rule is skipped


def test_a_transfer_to_a_routing_point_lands_where_its_rules_say(queues, overflow):
    target = lifecycle.resolve_target(f"rp:{overflow.pk}")
    assert target.queue == queues["billing"]  # nothing waits in Billing: under 5 minutes
    make_callback(queues["billing"], "+33612349999")
    CallbackRequest.objects.filter(queue=queues["billing"]).update(enqueued_at=timezone.now() - timedelta(minutes=9))
    assert lifecycle.resolve_target(f"rp:{overflow.pk}").queue == queues["support"]


def test_a_customer_with_an_open_callback_in_the_target_stays(queues):
    billing = queues["billing"]
    billing.reject_queue = queues["support"]
    billing.save()
    make_callback(queues["support"], "+33612345678")  # the same customer already waits in Support
    set_ready(queues["alice"])
    cb = make_callback(billing, "+33612345678")
    lifecycle.do_reject_offer(user=queues["alice"].user, offer_id=_offer_of(cb).pk)
    cb.refresh_from_db()
    assert cb.queue == billing and cb.state in (CallbackState.QUEUED, CallbackState.OFFERED)
    assert "already has an open callback in Support" in cb.history.get(kind=HistoryKind.ROUTED).message


def test_a_queue_names_a_queue_or_a_point_not_both(queues, overflow):
    billing = queues["billing"]
    billing.reject_queue, billing.reject_point = queues["support"], overflow
    with pytest.raises(ValidationError):
        billing.clean()
    rule = RoutingRule(point=overflow, queue=billing, condition=RuleCondition.WAIT_UNDER)
    with pytest.raises(ValidationError):
        rule.clean()
    assert routing.queue_after(queues["support"], CallbackEvent.REJECT, timezone.now()) is None
