"""Reads: everything a page or a push needs, with its queries chosen once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import dateformat, formats, timezone
from django.utils.translation import gettext, gettext_noop

from . import calendars
from .channels import spec
from .enums import (
    AgentStatus,
    CallbackState,
    Channel,
    ConsultState,
    FieldFormat,
    HistoryKind,
    InteractionState,
    PartyState,
    PreviewSection,
)
from .errors import DomainError
from .models import (
    Agent,
    AgentChannelStatus,
    Call,
    CallbackRequest,
    CallParty,
    Consultation,
    Contact,
    FavoriteTarget,
    HistoryEvent,
    Interaction,
    Offer,
    PreviewField,
    Queue,
    RoutingPoint,
    StandardResponse,
    agent_of,
    may_work,
)
from .phone import display_phone, normalize_phone

HISTORY_LIMIT = 50


def agent_for_user(user) -> Agent | None:
    """The user's agent profile while they hold the Agent role; None otherwise."""
    return agent_of(user) if may_work(user) else None


def format_value(value: Any, fmt: str, zone) -> str:
    if value is None or value == "":
        return "—"
    try:
        if fmt == FieldFormat.YES_NO:
            return gettext("Yes") if str(value).lower() in {"1", "true", "yes", "y"} else gettext("No")
        if fmt == FieldFormat.MONEY:
            return formats.number_format(Decimal(str(value)), 2, use_l10n=True, force_grouping=True)
        if fmt == FieldFormat.DATE:
            return formats.date_format(date.fromisoformat(str(value)), "j M Y")
        if fmt == FieldFormat.DATETIME:
            moment = datetime.fromisoformat(str(value))
            if timezone.is_aware(moment):
                moment = moment.astimezone(zone)
            return formats.date_format(moment, "D j M Y, H:i")
    except (ValueError, InvalidOperation):
        pass  # show what the customer gave rather than nothing
    return str(value)


@dataclass
class Row:
    label: str
    value: str


@dataclass
class CallbackView:
    """A callback as the agent sees it: times in both zones, configured fields (each value once, empty ones hidden)."""

    callback: CallbackRequest
    agent_zone: Any
    fields: dict[str, list[Row]] = field(default_factory=dict)
    shown_keys: set[str] = field(default_factory=set)

    @property
    def phone(self) -> str:
        return display_phone(self.callback.phone_number)

    @property
    def attached(self) -> list[Row]:
        """The rest of the IVR / web data: keys no configured field already shows, and only those with a value."""
        return [
            Row(str(k).replace("_", " ").capitalize(), str(v))
            for k, v in sorted(self.callback.data.items())
            if k not in self.shown_keys and v not in (None, "")
        ]


def window_sections(channel: str) -> list[str]:
    """The sections an interaction window shows, in page order (Case Information only on a channel that previews:
    Web Callback)."""
    if spec(channel).preview:
        return [PreviewSection.CASE_INFO, PreviewSection.CALLBACK_INFO]
    return [PreviewSection.CALLBACK_INFO]


def _fields_for(callback: CallbackRequest, configured: list[PreviewField], zone) -> tuple[dict[str, list[Row]], set[str]]:
    """Configured rows per section. A field with no value is left out; in the window, a key shows once, in the first
    section that names it (the notification is a region of its own and keeps its rows)."""
    out: dict[str, list[Row]] = {s.value: [] for s in PreviewSection}
    in_window = window_sections(callback.channel)
    shown: set[str] = set()
    for section in [PreviewSection.NOTIFICATION, *in_window]:
        for f in configured:
            if f.section != section or f.queue_id not in (None, callback.queue_id) or f.channel not in ("", callback.channel):
                continue
            value = callback.data.get(f.key)
            if value in (None, "") or (section in in_window and f.key in shown):
                continue
            if section in in_window:
                shown.add(f.key)
            out[section].append(Row(f.label, format_value(value, f.format, zone)))
    return out, shown


def callback_view(callback: CallbackRequest, agent_zone, configured: list[PreviewField]) -> CallbackView:
    rows, shown = _fields_for(callback, configured, callback.customer_zone)
    return CallbackView(callback, agent_zone, rows, shown)


@dataclass
class ChannelState:
    channel: str
    label: str
    status: str
    status_label: str
    reason: str
    since: datetime | None


def channel_states(channels: list[str], rows: dict[str, AgentChannelStatus]) -> list[ChannelState]:
    """An agent's status on each of their channels, from their status rows by channel (reasons loaded); a channel
    without a row is Logged Out."""
    out = []
    for ch in channels:
        row = rows.get(ch)
        status = row.status if row else AgentStatus.LOGGED_OUT
        out.append(
            ChannelState(
                channel=ch,
                label=Channel(ch).label,
                status=status,
                status_label=AgentStatus(status).label,
                reason=row.reason.name if row and row.reason else "",
                since=row.since if row else None,
            )
        )
    return out


def engagement(agent) -> dict:
    """Annotations for an agent's status rows (`agent`: an Agent, or OuterRef("agent_id")): are they in another agent's
    call, a consultation or a conference, or asked into one (same statement)."""
    return {
        "in_consultation": Exists(Consultation.objects.filter(to_agent=agent, state=ConsultState.ACTIVE)),
        "in_conference": Exists(CallParty.objects.filter(agent=agent, state=PartyState.JOINED, left_at__isnull=True)),
        "asked_to_conference": Exists(CallParty.objects.filter(agent=agent, state=PartyState.RINGING, left_at__isnull=True)),
    }


def engaged_as(rows) -> str:
    """From status rows annotated with `engagement`: why the agent is busy whatever their status (else "")."""
    if any(r.in_conference for r in rows):
        return gettext_noop("in a conference")
    if any(r.in_consultation for r in rows):
        return gettext_noop("in a consultation")
    return ""


def contact_search(q: str, limit: int = 50):
    """Contacts by name, number or e-mail."""
    q = (q or "").strip()
    contacts = Contact.objects.prefetch_related("phones", "emails").order_by("last_name", "first_name", "pk")
    if q:
        digits = "".join(ch for ch in q if ch.isdigit())
        cond = Q(first_name__icontains=q) | Q(last_name__icontains=q) | Q(emails__address__icontains=q)
        parts = q.split()
        if len(parts) >= 2:
            cond |= Q(first_name__icontains=parts[0]) & Q(last_name__icontains=" ".join(parts[1:]))
        if len(digits) >= 3:
            cond |= Q(phones__number__contains=digits)
        contacts = contacts.filter(cond).distinct()
    return list(contacts[:limit])


def case_history(callback_ids: list[int]):
    """The newest events of the callbacks (the interaction windows' Case History): index history_callback_at."""
    return (
        HistoryEvent.objects.filter(callback_id__in=callback_ids)
        .select_related("agent")
        .order_by("-at", "-id")[: HISTORY_LIMIT * len(callback_ids)]
    )


def contact_history_parts(contact_id: int, limit: int = 200):
    """The newest ids of the contact's own events, and of the events of the contact's callbacks: two
    indexed lookups (contact_id; history_callback_at). One query with OR across both makes PostgreSQL
    scan the whole history (130 ms at 1,000,000 rows)."""
    own = HistoryEvent.objects.filter(contact_id=contact_id).order_by("-at", "-id").values_list("id", flat=True)[:limit]
    their_callbacks = CallbackRequest.objects.filter(contact_id=contact_id).values("id")
    of_callbacks = (
        HistoryEvent.objects.filter(callback_id__in=their_callbacks).order_by("-at", "-id").values_list("id", flat=True)[:limit]
    )
    return own, of_callbacks


def contact_history(contact: Contact, limit: int = 200) -> list:
    """Everything that happened to the contact and their callbacks, newest first."""
    own, of_callbacks = contact_history_parts(contact.pk, limit)
    ids = set(own) | set(of_callbacks)
    return list(HistoryEvent.objects.filter(id__in=ids).select_related("callback", "agent").order_by("-at", "-id")[:limit])


def recent_targets(agent_id: int):
    """Where the agent transferred, conferenced or consulted lately (the Team Communicator's Recent)."""
    return (
        HistoryEvent.objects.filter(
            agent_id=agent_id,
            kind__in=[HistoryKind.TRANSFER, HistoryKind.CONFERENCE, HistoryKind.CONSULT],
            data__has_key="target",
        )
        .order_by("-at")
        .values_list("data", flat=True)[:30]
    )


def response_values(callback: CallbackRequest, agent: Agent) -> dict[str, str]:
    contact = callback.contact
    first, _, last = (callback.customer_name or "").partition(" ")
    return {
        "first_name": (contact.first_name if contact else "") or first,
        "last_name": (contact.last_name if contact else "") or last,
        "customer_name": callback.customer_name or (contact.full_name if contact else ""),
        "agent_name": agent.display_name,
        "reference": callback.reference,
        "phone": display_phone(callback.phone_number),
        "queue": callback.queue.name,
    }


def response_search(q: str, values: dict[str, str] | None = None, limit: int = 20) -> list[tuple[Any, str]]:
    rows = StandardResponse.objects.filter(active=True).select_related("category")
    q = (q or "").strip()
    if q:
        rows = rows.filter(Q(title__icontains=q) | Q(body__icontains=q) | Q(category__name__icontains=q))
    return [(r, r.render(values or {})) for r in rows[:limit]]


def team_search(agent: Agent, q: str, limit: int = 6) -> dict[str, list]:
    """Team Communicator: agents (with live status), queues, routing points and contacts matching q."""
    q = (q or "").strip()
    out: dict[str, list] = {"agents": [], "queues": [], "routing_points": [], "contacts": [], "favorites": [], "recent": []}
    if not q:
        out["favorites"] = list(FavoriteTarget.objects.filter(agent=agent))
        seen: set[str] = set()
        for data in recent_targets(agent.pk):
            key = data.get("target")
            if key and key not in seen:
                seen.add(key)
                out["recent"].append(key)
            if len(out["recent"]) >= 5:
                break
        return out
    statuses = {
        s.agent_id: s
        for s in AgentChannelStatus.objects.filter(channel=Channel.VOICE, agent__display_name__icontains=q).select_related(
            "reason"
        )
    }
    for a in Agent.objects.filter(display_name__icontains=q).exclude(pk=agent.pk)[:limit]:
        row = statuses.get(a.pk)
        out["agents"].append((a, AgentStatus(row.status).label if row else "Logged Out"))
    out["queues"] = list(Queue.objects.filter(active=True, name__icontains=q)[:limit])
    out["routing_points"] = list(
        RoutingPoint.objects.filter(active=True).filter(Q(name__icontains=q) | Q(number__icontains=q))[:limit]
    )
    out["contacts"] = contact_search(q, limit=limit)
    out["numbers"] = []
    if sum(ch.isdigit() for ch in q) >= 6:
        try:
            out["numbers"] = [normalize_phone(q)]  # a typed number is a target too
        except DomainError:
            pass
    return out


@dataclass(frozen=True)
class SlotDay:
    label: str
    slots: list[tuple[str, str, int]]  # (ISO instant, time shown in the customer's zone, room left)


def reschedule_slots(agent: Agent, interaction_id: int, now: datetime, *, days: int = 7, limit: int = 96) -> list[SlotDay]:
    """Free slots of the agent's open interaction's queue for the next days, shown in the customer's zone and
    limited to the customer's availability window. 404 for another agent's interaction."""
    interaction = (
        Interaction.objects.select_related("callback__queue")
        .filter(pk=interaction_id, agent=agent, state=InteractionState.OPEN)
        .first()
    )
    if interaction is None:
        raise DomainError(gettext("That interaction is not open on your desk."), status=404)
    callback = interaction.callback
    start = max(now, callback.window_start) if callback.window_start else now
    end = min(now + timedelta(days=days), callback.window_end) if callback.window_end else now + timedelta(days=days)
    return free_slot_days(callback.queue, start, end, callback.customer_zone, excluding=callback.pk, limit=limit)


def free_slot_days(
    queue: Queue,
    start: datetime,
    end: datetime,
    zone,
    *,
    excluding: int | None = None,
    limit: int = 500,
    day_format: str = "D d M",
) -> list[SlotDay]:
    """Free slots between start and end, grouped by day in `zone` (the customer's): what both pickers show. Days are
    labelled with a Django date format, in the active language."""
    grouped: dict[date, list[tuple[str, str, int]]] = {}
    for slot in calendars.free_slots(queue, start, end, excluding=excluding, limit=limit):
        local = slot.start.astimezone(zone)
        grouped.setdefault(local.date(), []).append((slot.start.isoformat(), f"{local:%H:%M}", slot.remaining))
    return [SlotDay(dateformat.format(day, day_format), rows) for day, rows in grouped.items()]


# Average handling time assumed until a queue has finished interactions to measure.
DEFAULT_HANDLE_SECONDS = 300


@dataclass(frozen=True)
class Position:
    """Where a callback stands: its place in line (1 = next) while it waits, and the estimated wait."""

    state: str
    position: int | None
    ewt_seconds: int | None
    agents: int


def queue_position(callback: CallbackRequest, now: datetime) -> Position:
    """Place in line by the routing order (priority, immediate first, then time in line); the estimated wait is
    the rounds of the queue's staffed agents ahead of it times its recent average handling time, and never before
    the queue opens. A scheduled callback waits until its time."""
    staffed = (
        AgentChannelStatus.objects.filter(channel=callback.channel, agent__queues=callback.queue_id)
        .exclude(status=AgentStatus.LOGGED_OUT)
        .count()
    )
    if callback.state == CallbackState.SCHEDULED:
        wait = max(0, int(((callback.desired_time or now) - now).total_seconds()))
        return Position(callback.state, None, wait, staffed)
    if callback.state != CallbackState.QUEUED:
        return Position(callback.state, None, 0 if callback.state == CallbackState.OFFERED else None, staffed)
    same = CallbackRequest.objects.filter(queue_id=callback.queue_id, channel=callback.channel, state=CallbackState.QUEUED)
    enqueued = callback.enqueued_at or callback.created_at
    ahead = same.filter(
        Q(priority__gt=callback.priority)
        | Q(priority=callback.priority, type_rank__lt=callback.type_rank)
        | Q(priority=callback.priority, type_rank=callback.type_rank, enqueued_at__lt=enqueued)
        | Q(priority=callback.priority, type_rank=callback.type_rank, enqueued_at=enqueued, pk__lt=callback.pk)
    ).count()
    recent = list(
        Interaction.objects.filter(callback__queue_id=callback.queue_id, state=InteractionState.DONE, ended_at__isnull=False)
        .order_by("-ended_at")
        .values_list("created_at", "ended_at")[:50]
    )
    handle = sum((end - start).total_seconds() for start, end in recent) / len(recent) if recent else DEFAULT_HANDLE_SECONDS
    rounds = ahead // max(staffed, 1) + (1 if staffed == 0 else 0)
    wait = int(rounds * handle)
    opens = calendars.next_open(calendars.spec_for(callback.queue), now)
    if opens is not None:
        wait = max(wait, int((opens - now).total_seconds()))
    return Position(callback.state, ahead + 1, wait, staffed)


# The report's columns, and the value each one is read from.
REPORT_FIELDS = [
    ("reference", "reference"),
    ("queue", "queue__slug"),
    *[(name, name) for name in ("channel", "type", "origin", "state", "close_reason", "outcome", "phone_number")],
    *[(name, name) for name in ("customer_name", "created_at", "desired_time", "closed_at", "attempts")],
    ("offers", "offer_count"),
    ("calls", "call_count"),
    ("last_agent", "last_agent"),
    ("disposition", "disposition"),
]
REPORT_COLUMNS = [column for column, _ in REPORT_FIELDS]


def _count_per_callback(rows, path: str) -> Subquery:
    """How many rows point (through `path`) to the outer callback: a correlated COUNT."""
    return Subquery(rows.filter(**{path: OuterRef("pk")}).order_by().values(path).annotate(n=Count("id")).values("n")[:1])


def callbacks_report(
    *, start: datetime | None = None, end: datetime | None = None, queue_ids: list[int] | None = None, agent_id: int | None = None
):
    """One row per callback created in [start, end), with what links its attempts: how many offers and calls it
    had, the last agent who worked it and their disposition. Values only, for streaming."""
    last = Interaction.objects.filter(callback=OuterRef("pk")).order_by("-created_at")
    rows = CallbackRequest.objects.all()
    if start is not None:
        rows = rows.filter(created_at__gte=start)
    if end is not None:
        rows = rows.filter(created_at__lt=end)
    if queue_ids is not None:
        rows = rows.filter(queue_id__in=queue_ids)
    if agent_id is not None:  # the callbacks this agent worked (any of their interactions)
        rows = rows.filter(Exists(Interaction.objects.filter(callback=OuterRef("pk"), agent_id=agent_id)))
    return (
        rows.order_by("created_at", "id")
        .annotate(
            offer_count=_count_per_callback(Offer.objects, "callback"),
            call_count=_count_per_callback(Call.objects, "interaction__callback"),
            last_agent=Subquery(last.values("agent__display_name")[:1]),
            disposition=Subquery(last.values("disposition__label")[:1]),
        )
        .values_list(*[field for _, field in REPORT_FIELDS])
    )
