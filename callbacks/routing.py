"""Who gets which callback: the choice is made here, the write in `lifecycle.offers`.

Nothing rings while the queue's business calendar is closed, nor outside the
customer's availability window (`callbacks.calendars`).

The rule: the waiting callback first in line (priority, then immediate before
others, then original enqueue time) goes to the Ready, free agent of its
queue who has been idle longest (since their last interaction ended or since
they went Ready, whichever is later). An agent who rejected a callback (or whose
page never showed its offer) is not offered it again while another Ready
agent exists. A personal callback waits
for its owner during the queue's grace period.

A pass reads the line, then (when something waits) the free agents and who passed on each callback in one
statement (`free_for`). Rows are read with SKIP LOCKED inside the caller's transaction, so any number
of web processes and dispatchers can route at once without waiting on each
other; the partial unique constraints on offers are the last line of defence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, Func, OuterRef, Q, Subquery

from . import calendars
from .enums import (
    OPEN_CONSULT_STATES,
    AgentStatus,
    CallbackEvent,
    CallbackState,
    DialMode,
    InteractionState,
    OfferOutcome,
    RuleCondition,
)
from .models import (
    Agent,
    AgentChannelStatus,
    CallbackRequest,
    CallParty,
    Consultation,
    Interaction,
    Offer,
    Queue,
    RoutingPoint,
    RoutingRule,
)
from .prepared import Prepared

AGENTS_LOOKED_AT = 20
CALLBACKS_LOOKED_AT = 10


@dataclass(frozen=True)
class Choice:
    callback: CallbackRequest
    agent: Agent


def undelivered_offers():
    """Open offers no page has shown yet (partial index offer_undelivered)."""
    return Offer.objects.filter(outcome=OfferOutcome.OPEN, delivered_at__isnull=True)


def consulting(agent):
    """Consultations `agent` (an id or an OuterRef) is asked into or in."""
    return Consultation.objects.filter(to_agent=agent, state__in=OPEN_CONSULT_STATES)


def conferencing(agent):
    """Conferences `agent` is asked into or in."""
    return CallParty.objects.filter(agent=agent, left_at__isnull=True)


def engaged(agent_id: int) -> bool:
    """The agent is in another agent's call (a conference or a consultation), or asked into one: busy for routing
    and for transfers, whatever their channel status says."""
    return consulting(agent_id).exists() or conferencing(agent_id).exists()


def free_agents(queue_id: int, channel: str, *, lock: bool = True):
    """Ready agents of the queue on the channel with nothing ringing, no open interaction and not in (or asked into)
    another agent's conference or consultation, longest idle first. Each row also carries the number of offers not
    yet shown on any page (one scalar subquery, same statement)."""
    ringing = Offer.objects.filter(agent=OuterRef("agent_id"), channel=channel, outcome=OfferOutcome.OPEN)
    busy = Interaction.objects.filter(agent=OuterRef("agent_id"), channel=channel, state=InteractionState.OPEN)
    in_flight = undelivered_offers().order_by().annotate(n=Func(F("id"), function="COUNT")).values("n")
    rows = (
        AgentChannelStatus.objects.filter(channel=channel, status=AgentStatus.READY, agent__queues=queue_id)
        .filter(~Exists(ringing), ~Exists(busy))
        .filter(~Exists(consulting(OuterRef("agent_id"))), ~Exists(conferencing(OuterRef("agent_id"))))
        .select_related("agent")
        .annotate(undelivered=Subquery(in_flight[:1]))
        .order_by(F("idle_since").asc(nulls_first=True), "id")
    )
    if lock:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    return rows


def waiting_callbacks(
    queue_id: int, channel: str, *, now: datetime | None = None, lock: bool = True, to_dial_first: bool = False
):
    """Queued callbacks in routing order: priority, then immediate first, then longest waiting.
    With `now`, only those whose customer is available now (inside their availability window, if any).
    A customer-first queue offers agents only the customers Ringback has on the line (`lifecycle.voice`);
    `to_dial_first` gives the others, those its voice application is to call. A customer who is to call in
    (`customer_dials_in`: GMS's USERORIGINATED) is offered only once their call is on the line, in any queue; a
    paused one (a supervisor's Pause) to nobody."""
    on_line = (
        Q(on_line_since__isnull=True, customer_dials_in=False)
        if to_dial_first
        else Q(queue__dial_mode=DialMode.AGENT_FIRST, customer_dials_in=False) | Q(on_line_since__isnull=False)
    )
    rows = (
        CallbackRequest.objects.filter(queue_id=queue_id, channel=channel, state=CallbackState.QUEUED, paused_at__isnull=True)
        .filter(on_line)
        .select_related("queue")
        .order_by("-priority", "type_rank", "enqueued_at", "id")
    )
    if now is not None:
        rows = rows.filter(Q(window_start__isnull=True) | Q(window_start__lte=now)).filter(
            Q(window_end__isnull=True) | Q(window_end__gt=now)
        )
    if lock:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    return rows


PASSED = (OfferOutcome.REJECTED, OfferOutcome.NOT_DELIVERED)  # an agent who rejected or never showed an offer


def passed_on(callback_ids: list[int]):
    """(callback, agent) pairs of agents who rejected the callbacks or whose page never showed them."""
    return Offer.objects.filter(callback_id__in=callback_ids, outcome__in=PASSED).values_list("callback_id", "agent_id")


# A routing pass's reads, compiled once per process (`prepared`): the line, then the free agents with who passed.
LINE = Prepared(
    lambda queue_id, channel, now: waiting_callbacks(queue_id, channel, now=now)[:CALLBACKS_LOOKED_AT],
    queue_id="id",
    channel="text",
    now="time",
)
FREE = Prepared(lambda queue_id, channel: free_agents(queue_id, channel)[:AGENTS_LOOKED_AT], queue_id="id", channel="text")


def free_statement(queue_id: int, channel: str, callback_ids: list[int]):
    """The free agents and who passed on the callbacks in line, as one statement: (SQL, parameters, the free agents'
    part), or None when no row can match. Its rows are tagged 1 (a free agent) or 2 (a callback's passed-on agent)
    and carry the other part's columns as NULLs."""
    free = FREE.bind(queue_id=queue_id, channel=str(channel))
    if free is None:
        return None
    key = (free.connection.alias, free.sql, len(callback_ids))
    sql = _FREE_SQL.get(key)
    if sql is None:
        sql = _FREE_SQL.setdefault(key, _free_sql(free, len(callback_ids)))
    return sql, (*free.params, *callback_ids, *[str(p) for p in PASSED]), free


_FREE_SQL: dict[tuple, str] = {}  # (database, the free agents' SQL, how many callbacks) -> the statement


def _free_sql(free, callbacks: int) -> str:
    quote, meta = free.connection.ops.quote_name, Offer.objects.all().query.get_meta()
    offer = quote(meta.db_table)
    callback_id, agent_id, outcome = (quote(meta.get_field(name).column) for name in ("callback", "agent", "outcome"))
    columns = ", ".join(f"f{i}" for i in range(free.width))
    nulls = ", ".join(["NULL"] * free.width)
    ids = ", ".join(["%s"] * callbacks)
    return (
        f"WITH free({columns}) AS ({free.sql}) "
        f"SELECT 1, {columns}, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT) FROM free "
        f"UNION ALL SELECT 2, {nulls}, o.{callback_id}, o.{agent_id} FROM {offer} o "
        f"WHERE o.{callback_id} IN ({ids}) AND o.{outcome} IN (%s, %s)"
    )


def free_for(queue_id: int, channel: str, callback_ids: list[int]):
    """The free agents of the queue (longest idle first) and who passed on each of these callbacks, locked and read
    in one statement."""
    statement = free_statement(queue_id, channel, callback_ids)
    if statement is None:
        return [], {}
    sql, params, free = statement
    with free.connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    agents = free.objects([row[1 : 1 + free.width] for row in rows if row[0] == 1])
    agents.sort(key=lambda a: (a.idle_since is not None, a.idle_since or datetime.min, a.pk))  # a UNION keeps no order
    rejected_by: dict[int, set[int]] = {}
    for row in rows:
        if row[0] == 2:
            rejected_by.setdefault(row[-2], set()).add(row[-1])
    return agents, rejected_by


@dataclass(frozen=True)
class Pass:
    """One routing pass: the offers to make, and whether another pass might find more."""

    choices: list[Choice]
    more: bool
    held: bool = False  # held back: too many offers are not yet shown on any page


def pairs(queue_id: int, channel: str, now: datetime) -> Pass:
    """Every offer one pass can make in this queue and channel: callbacks in line order, each to the longest
    idle free agent left who may take it. Locks the rows it pairs (call inside a transaction)."""
    # The callbacks first: after Mark Done or a status change the line is usually empty, and this read is one
    # index range, where the free agents' read weighs four anti-joins (PostgreSQL plans them on every run).
    callbacks = LINE.run(queue_id=queue_id, channel=str(channel), now=now)
    if not callbacks or not calendars.is_open(calendars.spec_for(callbacks[0].queue), now):
        # Nothing waits, or the queue is closed: its callbacks wait for the opening (the clock routes every second).
        return Pass([], more=False)
    agents, rejected_by = free_for(queue_id, channel, [c.pk for c in callbacks])
    if not agents:
        return Pass([], more=False)
    room = settings.RINGBACK_MAX_UNDELIVERED_OFFERS - (agents[0].undelivered or 0)
    if room <= 0:
        # Pages are behind showing what already rang: the burst waits in the queue until they catch up.
        return Pass([], more=False, held=True)
    agents = agents[:room]
    free = list(agents)
    choices: list[Choice] = []
    for callback in callbacks:
        if not free:
            break
        chosen = _agent_for(callback, free, rejected_by.get(callback.pk, set()), queue_id, channel, now)
        if chosen is not None:
            free.remove(chosen)
            choices.append(Choice(callback, chosen.agent))
    # Rows beyond what this pass looked at may still pair up; otherwise it saw everything.
    more = bool(choices) and (len(agents) == AGENTS_LOOKED_AT or len(callbacks) == CALLBACKS_LOOKED_AT)
    return Pass(choices, more)


def _agent_for(callback, free, rejecters, queue_id, channel, now):
    if callback.owner_id and now < (callback.desired_time or now) + timedelta(minutes=callback.queue.personal_grace_minutes):
        # A personal callback waits for its owner during the grace period.
        return next((a for a in free if a.agent_id == callback.owner_id), None)
    choice = next((a for a in free if a.agent_id not in rejecters), None)
    if choice is not None:
        return choice
    # Everyone free rejected it. Ring one of them again only if no
    # other Ready agent exists who might take it once free.
    others_ready = (
        AgentChannelStatus.objects.filter(channel=channel, status=AgentStatus.READY, agent__queues=queue_id)
        .exclude(agent_id__in=rejecters)
        .exists()
    )
    return None if others_ready else free[0]


def choose(queue_id: int, channel: str, now: datetime) -> Choice | None:
    """The next offer to make in this queue and channel, or None (the first of a pass)."""
    found = pairs(queue_id, channel, now).choices
    return found[0] if found else None


def queues_of(agent_id: int) -> list[int]:
    return list(Agent.queues.through.objects.filter(agent_id=agent_id).values_list("queue_id", flat=True))


def queues_with_waiting_work() -> list[tuple[int, str]]:
    return list(
        CallbackRequest.objects.filter(state=CallbackState.QUEUED).values_list("queue_id", "channel").distinct().order_by()
    )


# --- Routing points: where a callback goes after Reject or an unanswered offer, and where a transfer lands ----------


def oldest_wait(queue_id: int, now: datetime) -> timedelta | None:
    """How long the first callback in line of the queue has waited (None when nothing waits)."""
    first = (
        CallbackRequest.objects.filter(queue_id=queue_id, state=CallbackState.QUEUED, enqueued_at__isnull=False)
        .order_by("enqueued_at")
        .values_list("enqueued_at", flat=True)
        .first()
    )
    return None if first is None else now - first


def rule_holds(rule: RoutingRule, now: datetime) -> bool:
    if rule.condition == RuleCondition.WAIT_UNDER:
        waited = oldest_wait(rule.queue_id, now)
        return waited is None or waited < timedelta(minutes=rule.minutes or 0)
    if rule.condition == RuleCondition.TIME_OF_DAY:
        if rule.starts is None or rule.ends is None:
            return False
        local = now.astimezone(rule.point.zone).time()
        if rule.starts < rule.ends:
            return rule.starts <= local < rule.ends
        return local >= rule.starts or local < rule.ends  # a range past midnight
    return True


def queue_from_point(point: RoutingPoint, now: datetime) -> Queue | None:
    """The queue a routing point sends a callback to now: its first rule that holds, else its own queue."""
    for rule in point.rules.select_related("queue", "point").filter(queue__active=True):
        if rule_holds(rule, now):
            return rule.queue
    return point.queue if point.queue_id and point.queue.active else None


def queue_after(queue: Queue, event: CallbackEvent, now: datetime) -> Queue | None:
    """Where a callback of `queue` goes after Reject (or an unanswered offer): the queue it names, the queue its
    routing point chooses, or None for its own queue."""
    prefix = "reject" if event == CallbackEvent.REJECT else "timeout"
    if getattr(queue, f"{prefix}_queue_id"):
        target = getattr(queue, f"{prefix}_queue")
        return target if target.active else None
    if getattr(queue, f"{prefix}_point_id"):
        point = getattr(queue, f"{prefix}_point")
        return queue_from_point(point, now) if point.active else None
    return None
