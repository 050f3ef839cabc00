"""Statements compiled once per process (`callbacks.prepared`) give exactly what the queryset gives, every run."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from callbacks import routing
from callbacks.enums import AgentStatus, OfferOutcome
from callbacks.models import AgentChannelStatus, CallbackRequest, Offer
from callbacks.prepared import MAX_LIST, Prepared
from callbacks.presenters.offers import CARDS

from .factories import make_agent, make_callback, make_queue, set_ready


def _line(queue_id, channel, now):
    return routing.waiting_callbacks(queue_id, channel, now=now, lock=False)


def test_a_prepared_read_equals_the_querysets_for_every_value(queue):
    other_queue = make_queue("sales")
    now = timezone.now()
    first = make_callback(queue)
    later = make_callback(queue, phone="+33612345679", window_start=now + timedelta(hours=1), window_end=now + timedelta(hours=3))
    elsewhere = make_callback(other_queue)
    line = Prepared(_line, queue_id="id", channel="text", now="time")
    for queue_id, at in [(queue.pk, now), (queue.pk, now + timedelta(hours=2)), (other_queue.pk, now), (queue.pk + 99, now)]:
        assert line.run(queue_id=queue_id, channel="voice", now=at) == list(_line(queue_id, "voice", at))
    assert [c.pk for c in line.run(queue_id=queue.pk, channel="voice", now=now + timedelta(hours=2))] == [first.pk, later.pk]
    assert [c.pk for c in line.run(queue_id=queue.pk, channel="voice", now=now)] == [first.pk]
    assert [c.pk for c in line.run(queue_id=other_queue.pk, channel="voice", now=now)] == [elsewhere.pk]
    assert line.run(queue_id=queue.pk, channel="web", now=now) == []
    row = line.run(queue_id=queue.pk, channel="voice", now=now)[0]
    with CaptureQueriesContext(connection) as captured:
        assert row.queue.name == queue.name  # select_related came back with the row
    assert len(captured) == 0


def test_a_list_is_compiled_per_length_and_a_long_one_falls_back_to_the_orm(queue, alice):
    set_ready(alice)
    make_callback(queue)
    offer = Offer.objects.get(outcome=OfferOutcome.OPEN)
    assert CARDS.run(agent_id=alice.pk, ids=[offer.pk]) == [offer]
    assert CARDS.run(agent_id=alice.pk, ids=[offer.pk + 1, offer.pk]) == [offer]
    assert CARDS.run(agent_id=alice.pk + 1, ids=[offer.pk]) == []
    assert CARDS.run(agent_id=alice.pk, ids=list(range(offer.pk, offer.pk + MAX_LIST + 5))) == [offer]
    assert CARDS.run(agent_id=alice.pk, ids=[]) == []
    with CaptureQueriesContext(connection) as captured:
        rows = CARDS.run(agent_id=alice.pk, ids=[offer.pk])
        assert rows[0].callback.queue.name == queue.name  # two levels of select_related, no further read
    assert len(captured) == 1


def test_annotations_come_back_on_the_rows(queue, alice, bob):
    set_ready(alice)
    set_ready(bob)
    make_callback(queue)  # rings one of them: one offer not yet shown on any page
    agents = routing.FREE.run(queue_id=queue.pk, channel="voice")
    assert [a.agent_id for a in agents] == [a.agent_id for a in routing.free_agents(queue.pk, "voice", lock=False)]
    assert len(agents) == 1 and agents[0].undelivered == 1 and agents[0].agent.display_name in ("Alice", "Bob")


def test_a_parameter_the_sql_does_not_carry_is_refused_at_once():
    unused = Prepared(lambda queue_id: CallbackRequest.objects.filter(state="queued"), queue_id="id")
    with pytest.raises(ValueError, match="missing from its compiled SQL"):
        unused.run(queue_id=1)


def test_an_id_no_column_holds_finds_nothing_and_never_fails(queue, alice):
    assert CARDS.run(agent_id=alice.pk, ids=[2**70]) == []
    assert CARDS.run(agent_id=2**64, ids=[1]) == []
    assert routing.FREE.run(queue_id=-(2**63) - 1, channel="voice") == []


def test_the_sessions_user_is_read_from_a_32_bit_key_too(alice):
    """auth_user's key is a 32-bit column on PostgreSQL: a stand-in outside its range compiled to nothing."""
    from callbacks.auth import SESSION_USER

    user = SESSION_USER.first(user_id=alice.user.pk)
    assert user == alice.user and user.agent == alice and user.can_work
    assert SESSION_USER.first(user_id=alice.user.pk + 1000) is None


def test_a_routing_pass_reads_the_free_agents_and_who_passed_in_one_statement(queue, alice, bob):
    """`routing.free_for` gives what the free agents' and the passed-on querysets give, in order, in one statement."""
    carol = make_agent("carol", queue)
    first = make_callback(queue, phone="+33612345001")
    urgent = make_callback(queue, phone="+33612345002", priority=9)
    third = make_callback(queue, phone="+33612345003")
    now = timezone.now()
    for agent, passed in [(alice, [first, urgent]), (bob, [urgent])]:
        for callback in passed:
            Offer.objects.create(
                callback=callback, agent=agent, channel="voice", outcome=OfferOutcome.REJECTED, created_at=now, deadline=now
            )
    for agent in (carol, bob, alice):
        AgentChannelStatus.objects.update_or_create(
            agent=agent, channel="voice", defaults={"status": AgentStatus.READY, "since": now}
        )
    AgentChannelStatus.objects.filter(agent=carol).update(idle_since=now - timedelta(minutes=5))
    AgentChannelStatus.objects.filter(agent=bob).update(idle_since=None)  # never idle since anything: first
    AgentChannelStatus.objects.filter(agent=alice).update(idle_since=now - timedelta(minutes=1))
    callbacks = routing.LINE.run(queue_id=queue.pk, channel="voice", now=now)
    assert callbacks == list(routing.waiting_callbacks(queue.pk, "voice", now=now, lock=False)) == [urgent, first, third]
    with CaptureQueriesContext(connection) as captured:
        agents, rejected_by = routing.free_for(queue.pk, "voice", [c.pk for c in callbacks])
    assert len(captured) == 1
    assert [a.agent_id for a in agents] == [bob.pk, carol.pk, alice.pk]
    assert [a.agent_id for a in agents] == [a.agent_id for a in routing.free_agents(queue.pk, "voice", lock=False)]
    assert agents[0].agent.display_name == "Bob" and agents[0].undelivered == 0
    assert rejected_by == {first.pk: {alice.pk}, urgent.pk: {alice.pk, bob.pk}}
    with CaptureQueriesContext(connection) as captured:
        assert callbacks[0].queue.name == queue.name  # select_related came back with the row
    assert len(captured) == 0
    # The pairing then skips who passed: the urgent one to carol (bob and alice rejected it), the first to bob.
    found = routing.pairs(queue.pk, "voice", now)
    assert [(c.callback.pk, c.agent.pk) for c in found.choices] == [
        (urgent.pk, carol.pk),
        (first.pk, bob.pk),
        (third.pk, alice.pk),
    ]


def test_a_routing_pass_with_an_empty_line_is_one_statement(queue, alice):
    set_ready(alice)
    with CaptureQueriesContext(connection) as captured:
        assert routing.pairs(queue.pk, "voice", timezone.now()).choices == []
    assert len(captured) == 1
