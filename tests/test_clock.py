"""The clock keeps its promises: every timer fires once from durable data, even with two dispatchers at once,
and the in-process runner starts with the server, before any request."""

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from callbacks import lifecycle
from callbacks.dispatcher import Clock, sweep_once
from callbacks.enums import AgentStatus, CallbackState, CallbackType, CallState, HistoryKind, OfferOutcome
from callbacks.models import Agent, AgentChannelStatus, Call, CallbackRequest, HistoryEvent, Offer

from .factories import database_url, make_agent, make_callback, make_queue, numbers, set_ready, shown
from .servers import daphne, free_port, stop
from .test_race import race

ROOT = Path(__file__).resolve().parents[1]


def test_two_dispatchers_at_once_fire_every_timer_exactly_once(transactional_db, settings):
    settings.RINGBACK_DIAL_LIMIT_SECONDS = 30
    now = timezone.now()
    quiet = make_queue("quiet", reminder_minutes=30)  # nobody works it: due callbacks just wait
    busy = make_queue("busy", offer_timeout_seconds=30)
    phones = iter(numbers(40))
    for _ in range(5):
        make_callback(quiet, phone=next(phones), type=CallbackType.SCHEDULED, desired_time=now + timedelta(seconds=20))
    owner = make_agent("owner", busy)
    for _ in range(2):
        cb = make_callback(quiet, phone=next(phones), type=CallbackType.SCHEDULED, desired_time=now + timedelta(minutes=20))
        CallbackRequest.objects.filter(pk=cb.pk).update(owner=owner)
    ringing = [make_agent(f"ring{i}", busy) for i in range(4)]
    for agent in ringing:
        set_ready(agent)
        make_callback(busy, phone=next(phones))  # offered to the agent at once
    for offer in Offer.objects.filter(outcome=OfferOutcome.OPEN):
        shown(offer)
    assert Offer.objects.filter(outcome=OfferOutcome.OPEN).count() == 4
    for i in range(3):
        idle = make_agent(f"acw{i}")
        AgentChannelStatus.objects.create(
            agent=idle, channel="voice", status=AgentStatus.AFTER_CALL_WORK, since=now, until=now + timedelta(seconds=5)
        )
    caller = make_agent("caller", make_queue("dial"))
    set_ready(caller)
    offer = Offer.objects.get(callback=make_callback("dial", phone=next(phones)), outcome=OfferOutcome.OPEN)
    interaction = lifecycle.do_accept_offer(user=caller.user, offer_id=offer.pk)
    lifecycle.do_call(user=caller.user, interaction_id=interaction.pk)  # the switch never answers
    host, guest = make_agent("host", make_queue("conf")), make_agent("guest")
    set_ready(host)
    set_ready(guest)
    hosted = lifecycle.do_accept_offer(
        user=host.user,
        offer_id=Offer.objects.get(callback=make_callback("conf", phone=next(phones)), outcome=OfferOutcome.OPEN).pk,
    )
    Call.objects.filter(pk=lifecycle.do_call(user=host.user, interaction_id=hosted.pk).pk).update(state=CallState.CONNECTED)
    lifecycle.do_conference(user=host.user, interaction_id=hosted.pk, target=f"agent:{guest.pk}")  # Guest never answers

    with time_machine.travel(now + timedelta(minutes=1), tick=False):
        results = race(*[sweep_once for _ in range(2)], rounds=2)
    assert not [r for r in results if isinstance(r, Exception)], results

    def count(kind, **kw):
        return HistoryEvent.objects.filter(kind=kind, **kw).count()

    assert count(HistoryKind.DUE) == 5
    assert CallbackRequest.objects.filter(queue=quiet, state=CallbackState.QUEUED).count() == 5
    assert count(HistoryKind.TIMED_OUT) == 4
    assert not Offer.objects.filter(outcome=OfferOutcome.OPEN, callback__queue=busy).exists()
    assert count(HistoryKind.REMINDER) == 2
    assert count(HistoryKind.STATUS, agent__display_name__startswith="Acw", data__status="ready") == 3
    assert count(HistoryKind.CALL, message="Call ended: failed (no answer from the switch within 30 s)") == 1
    assert Call.objects.get(interaction=interaction).state == CallState.ENDED
    assert count(HistoryKind.CONFERENCE, message="Conference request to Guest not answered within 30 s") == 1


def test_a_dial_nobody_reports_on_ends_failed_after_the_switch_limit(queue, alice, settings):
    settings.RINGBACK_DIAL_LIMIT_SECONDS = 60
    set_ready(alice)
    offer = Offer.objects.get(callback=make_callback(queue), outcome=OfferOutcome.OPEN)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    call = lifecycle.do_call(user=alice.user, interaction_id=interaction.pk)
    with time_machine.travel(call.started_at + timedelta(seconds=59), tick=False):
        assert lifecycle.supervise_calls() == 0
    with time_machine.travel(call.started_at + timedelta(seconds=61), tick=False):
        assert lifecycle.supervise_calls() == 1
        assert lifecycle.supervise_calls() == 0  # fired once
    call.refresh_from_db()
    assert (call.state, call.outcome) == (CallState.ENDED, "failed")
    assert "no answer from the switch within 60 s" in interaction.callback.history.last().message


def test_the_in_process_clock_starts_with_the_server_before_any_request(queue):
    callback = make_callback(queue, type=CallbackType.SCHEDULED, desired_time=timezone.now() + timedelta(minutes=5))
    CallbackRequest.objects.filter(pk=callback.pk).update(desired_time=timezone.now() - timedelta(seconds=1))
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url(), RINGBACK_DISPATCHER="inprocess", RINGBACK_SWEEP_SECONDS="0.3")
    server = daphne(port, env, f"clock-test-server-{port}.log")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and CallbackRequest.objects.get(pk=callback.pk).state != CallbackState.QUEUED:
            time.sleep(0.2)
        assert CallbackRequest.objects.get(pk=callback.pk).state == CallbackState.QUEUED
    finally:
        stop(server)


def _quick_agent(name, queue):
    user = get_user_model().objects.create(username=name)  # no password: hashing 100 of them takes half a minute
    agent = Agent.objects.create(user=user, display_name=name)
    agent.queues.add(queue)
    return agent


def test_routing_spreads_work_evenly_longest_idle_first(queue):
    """30 Ready agents, 90 callbacks, each accepted and marked done at once: every agent gets 3 (one each per round:
    the agent who just finished is now the one idle for the shortest time)."""
    agents = [_quick_agent(f"a{i:03d}", queue) for i in range(30)]
    for agent in agents:
        set_ready(agent)
    for phone in numbers(90):
        callback = make_callback(queue, phone=phone)
        offer = Offer.objects.select_related("agent__user").get(callback=callback, outcome=OfferOutcome.OPEN)
        interaction = lifecycle.do_accept_offer(user=offer.agent.user, offer_id=offer.pk)
        lifecycle.do_mark_done(user=offer.agent.user, interaction_id=interaction.pk)
    per_agent = [Offer.objects.filter(agent=a, outcome=OfferOutcome.ACCEPTED).count() for a in agents]
    assert sorted(set(per_agent)) == [3]


def test_the_longest_idle_agent_is_offered_first_not_the_first_to_go_ready(queue):
    first, second = _quick_agent("first", queue), _quick_agent("second", queue)
    set_ready(first)
    set_ready(second)
    offer = Offer.objects.get(callback=make_callback(queue, phone="+33612000001"), outcome=OfferOutcome.OPEN)
    assert offer.agent == first
    interaction = lifecycle.do_accept_offer(user=first.user, offer_id=offer.pk)
    lifecycle.do_mark_done(user=first.user, interaction_id=interaction.pk)  # first is idle again, from now
    offer = Offer.objects.get(callback=make_callback(queue, phone="+33612000002"), outcome=OfferOutcome.OPEN)
    assert offer.agent == second


def test_the_clock_wakes_when_the_next_callback_falls_due_not_a_whole_interval_later(transactional_db):
    quiet = make_queue("quiet")
    clock = Clock(interval=5)
    result, wait = clock.run_once()  # the whole sweep first; nothing is scheduled
    assert "routed" in result and wait == pytest.approx(5, abs=0.5)
    due = timezone.now() + timedelta(seconds=1.5)
    callback = make_callback(quiet, type=CallbackType.SCHEDULED, desired_time=due)
    result, wait = clock.run_once()  # between whole sweeps: deadlines only, and the next one is 1.5 s away
    assert set(result) == {"due", "expired"}
    assert 1.0 < wait <= 1.5
    with time_machine.travel(due + timedelta(milliseconds=1)):
        result, _ = clock.run_once()
    assert result["due"] == 1
    callback.refresh_from_db()
    assert callback.state == CallbackState.QUEUED and callback.enqueued_at == due + timedelta(milliseconds=1)
