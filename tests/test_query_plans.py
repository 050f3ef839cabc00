"""Every hot query can be served by an index: on PostgreSQL, with sequential scans priced out, no plan needs one.

The querysets come from the functions the code runs (`manage.py query_plans`), so a query changed
without its index fails here."""

import pytest
from django.db import connection

from callbacks.management.commands.query_plans import hot_queries, plans

from .factories import make_agent, make_callback, make_queue


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans (the scaled set-up)")
def test_no_hot_query_needs_a_sequential_scan(db):
    queue = make_queue("billing")
    make_agent("alice", queue)
    make_callback(queue)
    found = plans(no_seqscan=True)
    assert set(found) == set(hot_queries())
    scans = {name: plan for name, plan in found.items() if "Seq Scan" in plan}
    assert scans == {}, "\n\n".join(f"{name}\n{plan}" for name, plan in scans.items())


def test_the_plans_command_prints_every_hot_query(db, capsys):
    from django.core.management import call_command

    call_command("query_plans")
    out = capsys.readouterr().out
    assert all(f"### {name}" in out for name in hot_queries())
