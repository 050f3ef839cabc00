"""Print the database's plan for each hot query: routing, the clock's timers, effects, history pages.

    python manage.py query_plans                 # the plans the planner picks for the data as it is
    python manage.py query_plans --no-seqscan    # PostgreSQL: prove an index can serve each one

The querysets are built by the same functions the code runs (`hot_queries`), so a plan shown here is
the plan of the query in production. `tests/test_query_plans.py` asserts, on PostgreSQL, that none
needs a sequential scan.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from callbacks import routing
from callbacks.enums import Channel
from callbacks.lifecycle import clock, effects, transfers
from callbacks.models import Agent, CallbackRequest, Contact, Queue
from callbacks.presenters import directory, fields


class Statement:
    """A statement written beside the ORM (a routing pass's one read), planned as a queryset's `explain()` would."""

    def __init__(self, sql: str, params: tuple) -> None:
        self.sql, self.params = sql, params

    def explain(self) -> str:
        with connection.cursor() as cursor:
            cursor.execute(f"{connection.ops.explain_query_prefix()} {self.sql}", self.params)
            return "\n".join(" ".join(str(c) for c in row) if len(row) > 1 else str(row[0]) for row in cursor.fetchall())


def hot_queries() -> dict[str, object]:
    """Name → queryset, with the first queue, agent, callback and contact found (or id 0)."""
    now = timezone.now()
    queue_id = Queue.objects.values_list("id", flat=True).first() or 0
    agent_id = Agent.objects.values_list("id", flat=True).first() or 0
    callback_ids = list(CallbackRequest.objects.values_list("id", flat=True)[:3]) or [0]
    contact_id = Contact.objects.values_list("id", flat=True).first() or 0
    due, offer = clock.next_deadlines()
    contact_own, contact_callbacks = directory.contact_history_parts(contact_id)
    sql, params, _ = routing.free_statement(queue_id, Channel.VOICE, callback_ids)
    return {
        "routing: the free agents and who passed on the line, one statement": Statement(sql, params),
        "routing: free agents of a queue, longest idle first": routing.free_agents(queue_id, Channel.VOICE)[
            : routing.AGENTS_LOOKED_AT
        ],
        "routing: waiting callbacks in line order": routing.waiting_callbacks(queue_id, Channel.VOICE, now=now)[
            : routing.CALLBACKS_LOOKED_AT
        ],
        "routing: who passed on those callbacks": routing.passed_on(callback_ids),
        "routing: offers not yet shown on a page": routing.undelivered_offers(),
        "clock: due scheduled callbacks": clock.due_callbacks(now)[: clock.BATCH],
        "clock: next due time": due,
        "clock: expired offers": clock.expired_offers(now)[: clock.BATCH],
        "clock: next offer deadline": offer,
        "clock: After Call Work that ended": clock.ended_after_call_work(now)[: clock.BATCH],
        "clock: reminders due soon": clock.reminders_soon(now)[: clock.BATCH],
        "clock: availability windows that lapsed": clock.lapsed_windows(now)[: clock.BATCH],
        "clock: calls still dialing": clock.dialing_calls()[: clock.BATCH],
        "clock: conference requests unanswered": transfers.unanswered_conference_requests(now)[:200],
        "clock: consultation requests unanswered": transfers.unanswered_consultation_requests(now)[:200],
        "clock: line reports a day old": clock.old_line_reports(now - clock.LINE_REPORTS_KEPT)[:1000],
        "effects: stale effects": effects.stale_effects(now)[:100],
        "page: case history of the open interactions": fields.case_history(callback_ids),
        "page: a contact's own events": contact_own,
        "page: the events of a contact's callbacks": contact_callbacks,
        "page: the Team Communicator's recent targets": directory.recent_targets(agent_id),
    }


def plans(no_seqscan: bool = False) -> dict[str, str]:
    out = {}
    with transaction.atomic():  # the locking queries may only be planned inside a transaction
        if no_seqscan and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
        for name, queryset in hot_queries().items():
            out[name] = queryset.explain()
    return out


class Command(BaseCommand):
    help = "Print the plan of each hot query (routing, timers, effects, history pages)."

    def add_arguments(self, parser):
        parser.add_argument("--no-seqscan", action="store_true", help="PostgreSQL: plan as if sequential scans were off")

    def handle(self, *args, no_seqscan: bool, **options):
        for name, plan in plans(no_seqscan).items():
            self.stdout.write(f"### {name}\n{plan}\n")
