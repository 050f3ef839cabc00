"""Concurrency, raced with real threads (each with its own database connection).

On PostgreSQL (the CI's second run) these are truly parallel transactions
using SKIP LOCKED; on SQLite the IMMEDIATE transactions serialize them.
"""

import threading
from collections import Counter

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from callbacks import lifecycle, routing
from callbacks.dispatcher import sweep_once
from callbacks.enums import AgentStatus, HistoryKind, OfferOutcome
from callbacks.errors import DomainError
from callbacks.models import AgentChannelStatus, CallbackRequest, HistoryEvent, Offer

from .factories import make_agent, make_callback, numbers


def race(*targets, rounds: int = 1):
    """Start all targets at the same instant; collect what each returned or raised."""
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)

    def run(i, fn):
        try:
            barrier.wait()
            out = []
            for _ in range(rounds):
                out.append(fn())
            results[i] = out
        except Exception as exc:  # the assertion looks at them
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_parallel_dispatchers_never_offer_a_callback_or_an_agent_twice(queue):
    agents = [make_agent(f"agent{i}", queue) for i in range(6)]
    for number in numbers(10):
        make_callback(queue, phone=number)  # nobody Ready yet: all wait
    # Ready without routing, so that only the racing dispatchers route.
    AgentChannelStatus.objects.bulk_create(
        [AgentChannelStatus(agent=a, channel="voice", status=AgentStatus.READY, since=timezone.now()) for a in agents]
    )

    results = race(
        *[lambda: lifecycle.route_queue(queue.pk, "voice") for _ in range(3)],
        *[sweep_once for _ in range(3)],
        rounds=3,
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    open_offers = list(Offer.objects.filter(outcome=OfferOutcome.OPEN).values_list("callback_id", "agent_id"))
    assert len(open_offers) == len(agents)  # every Ready agent rings once
    assert max(Counter(c for c, _ in open_offers).values()) == 1  # no callback rings twice
    assert max(Counter(a for _, a in open_offers).values()) == 1  # no agent rings twice
    assert HistoryEvent.objects.filter(kind=HistoryKind.OFFERED).count() == len(open_offers)
    assert CallbackRequest.objects.filter(state="offered").count() == len(agents)


def test_accept_and_reject_at_the_same_instant_have_exactly_one_winner(queue):
    alice = make_agent("alice", queue)
    lifecycle.do_set_status(user=alice.user, channel="voice", status="ready")
    callback = make_callback(queue)
    offer = Offer.objects.get(callback=callback)

    def attempt(fn):
        def go():
            try:
                fn(user=alice.user, offer_id=offer.pk)
                return "ok"
            except DomainError:
                return "refused"

        return go

    results = race(attempt(lifecycle.do_accept_offer), attempt(lifecycle.do_reject_offer), attempt(lifecycle.do_accept_offer))
    flat = [r[0] for r in results]
    assert flat.count("ok") == 1, flat
    offer.refresh_from_db()
    assert offer.outcome in (OfferOutcome.ACCEPTED, OfferOutcome.REJECTED)


def test_simultaneous_duplicate_requests_create_one_callback(queue):
    results = race(*[lambda: make_callback(queue, phone="+33612345678").reference for _ in range(5)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r[0] for r in results}) == 1
    assert CallbackRequest.objects.count() == 1
    assert HistoryEvent.objects.filter(kind=HistoryKind.CREATED).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks held by another transaction: PostgreSQL")
def test_a_routing_pass_skips_the_callbacks_and_agents_another_pass_holds(queue):
    """A pass's reads (the line, then the free agents with who passed, `routing.free_for`) keep SKIP LOCKED: rows
    another router has locked are passed over, not waited for."""
    alice, bob = make_agent("alice", queue), make_agent("bob", queue)
    held_cb, free_cb = make_callback(queue, phone="+33612345001"), make_callback(queue, phone="+33612345002")
    AgentChannelStatus.objects.bulk_create(
        [AgentChannelStatus(agent=a, channel="voice", status=AgentStatus.READY, since=timezone.now()) for a in (alice, bob)]
    )
    holding, release, seen = threading.Event(), threading.Event(), {}

    def other_router():
        try:
            with transaction.atomic():
                CallbackRequest.objects.select_for_update().get(pk=held_cb.pk)
                AgentChannelStatus.objects.select_for_update().get(agent=alice)
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_router)
    thread.start()
    try:
        assert holding.wait(30)
        with transaction.atomic():
            callbacks = routing.LINE.run(queue_id=queue.pk, channel="voice", now=timezone.now())
            agents, _ = routing.free_for(queue.pk, "voice", [c.pk for c in callbacks])
            seen["line"] = [c.pk for c in callbacks]
            seen["agents"] = [a.agent_id for a in agents]
    finally:
        release.set()
        thread.join(30)
    assert seen == {"line": [free_cb.pk], "agents": [bob.pk]}
