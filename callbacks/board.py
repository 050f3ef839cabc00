"""The supervisor's read models: the live board (one read of the floor for the queues a supervisor sees), agent
activity and outcome summaries for reports.

Every figure has one definition here, and the tests compute the same figures by hand from a known data set.
"Today" is the contact centre's day in its own zone (settings.TIME_ZONE), from midnight to now.

- waiting: callbacks in line now (queued); ringing: offered and not yet answered; in progress: with an agent.
- scheduled next hour: scheduled callbacks due within the next 60 minutes (overdue ones included).
- oldest wait: how long the first callback in line has waited since it became due (kept across returned offers).
- service level: of the callbacks first accepted today, the share accepted within the queue's target
  (`Queue.service_level_seconds`) of becoming due; callbacks never routed (no due time) are left out.
- handled and average handle time: interactions that ended today, from Accept to their end.
- failed, cancelled: callbacks closed today in those states (expired ones are failed).
- slots: today's promised slots taken against the calendar's capacity for the day.
- agents: each agent of the queue with their status on each channel and since when.
- waiting over the day: callbacks waiting or ringing at each half hour since midnight (from due to first Accept).
- outcomes by disposition: interactions that ended today, by the disposition the agent set.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from . import calendars
from .analytics import HandleTime
from .enums import (
    ACTIVE_CALL_STATES,
    MONITORED_STATES,
    OPEN_CALLBACK_STATES,
    AgentStatus,
    CallbackState,
    CallState,
    Channel,
    CloseReason,
    DialMode,
    HistoryKind,
    Origin,
)
from .models import (
    Agent,
    AgentChannelStatus,
    Call,
    CallbackRequest,
    HistoryEvent,
    Interaction,
    Queue,
    VoiceSession,
    channels_of,
    channels_worked,
    person_name_sql,
)
from .presenters.status import ChannelState, channel_states, engaged_as, engagement

SAMPLE_MINUTES = 30
MODE_NAMES = {DialMode.AGENT_FIRST: gettext_lazy("Agent first"), DialMode.CUSTOMER_FIRST: gettext_lazy("Customer first")}


def day_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class AgentLine:
    agent_id: int
    name: str
    channels: list[ChannelState]
    engaged: str = ""  # in another agent's conference or consultation: busy whatever the statuses say
    call_state: str = ""  # their own call's state (dialing, connected, on_hold), "" with none
    call_since: datetime | None = None  # when that call connected (or was dialled)
    monitored_by: str = ""  # the supervisor on that call (Listen, Whisper or Barge), if one is

    @property
    def call_label(self) -> str:
        return CALL_PILLS.get(self.call_state, "")

    @property
    def can_monitor(self) -> bool:
        """A supervisor may listen in: the agent's call is connected or on hold, and nobody is on it yet
        (`lifecycle.monitoring`: one supervisor on a call at a time)."""
        return self.call_state in MONITORED_STATES and not self.monitored_by


# How an agent row names the state of the agent's own call.
CALL_PILLS = {
    CallState.DIALING: gettext_lazy("Dialling"),
    CallState.CONNECTED: gettext_lazy("On a call"),
    CallState.ON_HOLD: gettext_lazy("Customer on hold"),
}


@dataclass
class QueueFigures(HandleTime):
    queue: Queue
    waiting: int = 0
    ringing: int = 0
    in_progress: int = 0
    scheduled_next_hour: int = 0
    oldest_enqueued: datetime | None = None
    answered: int = 0
    within_target: int = 0
    handled: int = 0
    handle_seconds: float = 0.0
    failed: int = 0
    cancelled: int = 0
    by_phone: int = 0  # callbacks asked for today in the voice menu (origin IVR)
    in_menu: int = 0  # callers in the voice menu now
    slots_used: int = 0
    slots_capacity: int = 0
    agents: list[AgentLine] = field(default_factory=list)
    status_counts: dict[str, Counter] = field(default_factory=dict)

    @property
    def service_level(self) -> float | None:
        return None if not self.answered else 100.0 * self.within_target / self.answered


@dataclass
class Board:
    at: datetime
    queues: list[QueueFigures]
    sample_times: list[datetime]
    waiting_series: dict[str, list[int]]
    dispositions: list[tuple[str, int]]

    def chart_data(self) -> dict:
        return {
            "zone": timezone.get_current_timezone_name(),
            "times": [int(t.timestamp()) for t in self.sample_times],
            "waiting": [{"label": name, "values": values} for name, values in self.waiting_series.items()],
            "dispositions": [{"label": label, "count": count} for label, count in self.dispositions],
        }


def board_for(queues: list[Queue], now: datetime | None = None, *, charts: bool = True) -> Board:
    """The figures of these queues' tiles, and (with `charts`) the day's charts across them."""
    now = now or timezone.now()
    start = day_start(now)
    figures = {q.pk: QueueFigures(q) for q in queues}
    ids = list(figures)
    _callback_counts(figures, ids, now, start)
    dispositions = _interactions(figures, ids, start)
    _agents(figures, ids)
    _slots(figures, start, now)
    if not charts:
        return Board(now, list(figures.values()), [], {}, [])
    times, series = _waiting_over_the_day(figures, ids, now, start)
    return Board(now, list(figures.values()), times, series, dispositions)


def _callback_counts(figures: dict[int, QueueFigures], ids: list[int], now: datetime, start: datetime) -> None:
    S = CallbackState
    rows = (
        CallbackRequest.objects.filter(queue_id__in=ids)
        .filter(Q(state__in=OPEN_CALLBACK_STATES) | Q(closed_at__gte=start))
        .values("queue_id")
        .order_by()
        .annotate(
            waiting=Count("pk", filter=Q(state=S.QUEUED)),
            ringing=Count("pk", filter=Q(state=S.OFFERED)),
            in_progress=Count("pk", filter=Q(state=S.IN_PROGRESS)),
            soon=Count("pk", filter=Q(state=S.SCHEDULED, desired_time__lt=now + timedelta(hours=1))),
            oldest=Min("enqueued_at", filter=Q(state=S.QUEUED)),
            failed=Count("pk", filter=Q(state=S.FAILED, closed_at__gte=start)),
            cancelled=Count("pk", filter=Q(state=S.CANCELLED, closed_at__gte=start)),
            # Created today: open, or closed today (the filter above keeps both).
            by_phone=Count("pk", filter=Q(origin=Origin.IVR, created_at__gte=start)),
        )
    )
    for row in rows:
        f = figures[row["queue_id"]]
        f.waiting, f.ringing, f.in_progress = row["waiting"], row["ringing"], row["in_progress"]
        f.scheduled_next_hour, f.oldest_enqueued = row["soon"], row["oldest"]
        f.failed, f.cancelled, f.by_phone = row["failed"], row["cancelled"], row["by_phone"]
    menu = VoiceSession.objects.filter(queue_id__in=ids, direction="in", ended_at__isnull=True, outcome="")
    for queue_id, n in menu.values_list("queue_id").order_by().annotate(n=Count("pk")):
        figures[queue_id].in_menu = n


def _interactions(figures: dict[int, QueueFigures], ids: list[int], start: datetime) -> list[tuple[str, int]]:
    earlier = Interaction.objects.filter(callback=OuterRef("callback"), created_at__lt=OuterRef("created_at"))
    rows = (
        Interaction.objects.filter(callback__queue_id__in=ids)
        .filter(Q(created_at__gte=start) | Q(ended_at__gte=start))
        .annotate(repeat=Exists(earlier))
        .values_list("callback__queue_id", "created_at", "ended_at", "callback__enqueued_at", "repeat", "disposition__label")
    )
    outcomes: Counter[str] = Counter()
    for queue_id, created, ended, enqueued, repeat, disposition in rows:
        f = figures[queue_id]
        if created >= start and not repeat and enqueued is not None:
            f.answered += 1
            if (created - enqueued).total_seconds() <= f.queue.service_level_seconds:
                f.within_target += 1
        if ended is not None and ended >= start:
            f.count_handled(created, ended)
            outcomes[disposition or gettext("No disposition")] += 1
    return sorted(outcomes.items(), key=lambda item: (-item[1], item[0]))


def _agents(figures: dict[int, QueueFigures], ids: list[int]) -> None:
    memberships = list(Agent.queues.through.objects.filter(queue_id__in=ids).values_list("queue_id", "agent_id"))
    agent_ids = {a for _, a in memberships}
    statuses: dict[int, dict[str, AgentChannelStatus]] = defaultdict(dict)
    names: dict[int, str] = {}
    enabled: dict[int, list[str]] = {}
    # The agent's own call, read with their name (once an agent, not once a channel): what the row shows and
    # whether Listen is offered.
    own_call = Call.objects.filter(interaction__agent_id=OuterRef("pk"), state__in=ACTIVE_CALL_STATES).order_by("-pk")
    calls: dict[int, tuple[str, datetime | None, str]] = {}
    for agent in (
        Agent.objects.filter(pk__in=agent_ids)
        .only("display_name")
        .annotate(
            call_state=Subquery(own_call.values("state")[:1]),
            call_since=Subquery(own_call.annotate(since=Coalesce("connected_at", "started_at")).values("since")[:1]),
            monitored_by=Subquery(own_call.annotate(by=person_name_sql("monitoring__supervisor__")).values("by")[:1]),
        )
    ):
        names[agent.pk] = agent.display_name
        if agent.call_state:
            calls[agent.pk] = (agent.call_state, agent.call_since, agent.monitored_by or "")
    rows = AgentChannelStatus.objects.filter(agent_id__in=agent_ids).select_related("reason")
    for row in rows.annotate(**engagement(OuterRef("agent_id"))):
        statuses[row.agent_id][row.channel] = row
    for agent_id in names:
        enabled[agent_id] = channels_of(statuses[agent_id])
    lines = {
        agent_id: AgentLine(
            agent_id,
            names.get(agent_id, "?"),
            channel_states(enabled.get(agent_id, []), statuses[agent_id]),
            engaged_as(statuses[agent_id].values()),
            *calls.get(agent_id, ("", None, "")),
        )
        for agent_id in agent_ids
    }
    for queue_id, agent_id in sorted(memberships, key=lambda m: names.get(m[1], "")):
        f = figures[queue_id]
        line = lines[agent_id]
        f.agents.append(line)
        for ch in line.channels:
            f.status_counts.setdefault(ch.channel, Counter())[ch.status] += 1


def _slots(figures: dict[int, QueueFigures], start: datetime, now: datetime) -> None:
    end = start + timedelta(days=1)
    for f in figures.values():
        day = calendars.slots(f.queue, start, end)
        spec = calendars.spec_for(f.queue)
        f.slots_capacity = spec.capacity * len(day)
        f.slots_used = sum(spec.capacity - s.remaining for s in day)


def _waiting_over_the_day(
    figures: dict[int, QueueFigures], ids: list[int], now: datetime, start: datetime
) -> tuple[list[datetime], dict[str, list[int]]]:
    step = timedelta(minutes=SAMPLE_MINUTES)
    times = []
    t = start
    while t <= now:
        times.append(t)
        t += step
    if not times or times[-1] < now:
        times.append(now)
    taken = Interaction.objects.filter(callback=OuterRef("pk"), created_at__gte=OuterRef("enqueued_at")).order_by("created_at")
    rows = (
        CallbackRequest.objects.filter(queue_id__in=ids, enqueued_at__isnull=False, enqueued_at__lte=now)
        .filter(Q(state__in=OPEN_CALLBACK_STATES) | Q(closed_at__gte=start))
        .annotate(taken=Subquery(taken.values("created_at")[:1]))
        .values_list("queue_id", "enqueued_at", "taken", "closed_at")
    )
    spans: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for queue_id, enqueued, taken_at, closed in rows:
        spans[queue_id].append((enqueued, min(x for x in (taken_at, closed, now + timedelta(seconds=1)) if x is not None)))
    return times, {f.queue.name: waiting_at(times, spans[f.queue.pk]) for f in figures.values()}


def waiting_at(times: list[datetime], spans: list[tuple[datetime, datetime]]) -> list[int]:
    """How many of the waiting spans [start, end) hold each sample time: the starts at or before it less the ends at
    or before it, counted by bisection over the sorted starts and ends (a busy day's hundred thousand callbacks
    against 48 samples cost a sort, not 4.8 million comparisons on every render)."""
    starts = sorted(start for start, end in spans if start < end)
    ends = sorted(end for start, end in spans if start < end)
    return [bisect_right(starts, t) - bisect_right(ends, t) for t in times]


# --- Agent activity: time in each status, handled, average handle time, over any range ------------------------------

# How far before a range the activity report looks for the status an agent was in when it began.
STATUS_LOOKBACK = timedelta(days=7)


@dataclass
class Activity(HandleTime):
    agent_id: int
    name: str
    channel: str
    seconds: Counter = field(default_factory=Counter)  # status → seconds
    handled: int = 0
    handle_seconds: float = 0.0

    @property
    def channel_label(self) -> str:
        return Channel(self.channel).label

    @property
    def logged_in_seconds(self) -> float:
        return sum(v for k, v in self.seconds.items() if k != AgentStatus.LOGGED_OUT)


def status_segments(changes: list[tuple[datetime, str]], start: datetime, end: datetime) -> Counter:
    """Seconds spent in each status over [start, end), from time-ordered (when, new status) changes; before the first
    change the agent is taken as logged out."""
    spent: Counter = Counter()
    status, since = AgentStatus.LOGGED_OUT.value, start
    for at, new in changes:
        if at >= end:
            break
        if at > since:
            spent[status] += (at - since).total_seconds()
            since = at
        status = new
    if end > since:
        spent[status] += (end - since).total_seconds()
    return spent


def agent_activity(agents: list[Agent], start: datetime, end: datetime, *, now: datetime | None = None) -> list[Activity]:
    """One line per agent and enabled channel: seconds in each status over [start, end) (end capped at now), and the
    interactions they ended in it (handled, average handle time from Accept to end)."""
    end = min(end, now or timezone.now())
    ids = [a.pk for a in agents]
    changes: dict[tuple[int, str], list[tuple[datetime, str]]] = defaultdict(list)
    rows = (
        HistoryEvent.objects.filter(kind=HistoryKind.STATUS, agent_id__in=ids, at__gte=start - STATUS_LOOKBACK, at__lt=end)
        .order_by("at", "id")
        .values_list("agent_id", "at", "data")
    )
    for agent_id, at, data in rows:
        if data.get("channel") and data.get("status"):
            changes[(agent_id, data["channel"])].append((at, data["status"]))
    handled = Interaction.objects.filter(agent_id__in=ids, ended_at__gte=start, ended_at__lt=end).values_list(
        "agent_id", "channel", "created_at", "ended_at"
    )
    worked: dict[int, dict[str, bool]] = defaultdict(dict)
    for agent_id, channel, works in AgentChannelStatus.objects.filter(agent__in=agents).values_list(
        "agent_id", "channel", "enabled"
    ):
        worked[agent_id][channel] = works
    lines = {(a.pk, ch): Activity(a.pk, a.display_name, ch) for a in agents for ch in channels_worked(worked[a.pk])}
    for key, line in lines.items():
        line.seconds = status_segments(changes.get(key, []), start, end)
    for agent_id, channel, created, ended in handled:
        line = lines.get((agent_id, channel))
        if line is not None:
            line.count_handled(created, ended)
    return sorted(lines.values(), key=lambda x: (x.name, x.channel))


def outcome_summary(queue_ids: list[int], start: datetime, end: datetime) -> dict:
    """Callbacks created in [start, end) by queue and outcome, and interactions ended in it by disposition and agent."""
    by_queue: dict[str, Counter] = defaultdict(Counter)
    created = CallbackRequest.objects.filter(queue_id__in=queue_ids, created_at__gte=start, created_at__lt=end)
    for row in created.values("queue__name", "close_reason").order_by().annotate(n=Count("pk")):
        reason = row["close_reason"]
        by_queue[row["queue__name"]][gettext(CloseReason(reason).label) if reason else gettext("Still open")] += row["n"]
    ended = Interaction.objects.filter(callback__queue_id__in=queue_ids, ended_at__gte=start, ended_at__lt=end)
    by_disposition = Counter(
        {
            label or gettext("No disposition"): n
            for label, n in ended.values_list("disposition__label").order_by().annotate(n=Count("pk"))
        }
    )
    outcomes = sorted({o for c in by_queue.values() for o in c})
    by_origin: dict[str, Counter] = defaultdict(Counter)
    for row in created.values("origin", "queue__dial_mode").order_by().annotate(n=Count("pk")):
        by_origin[row["origin"]][row["queue__dial_mode"]] += row["n"]
    modes = list(MODE_NAMES)
    return {
        "outcomes": outcomes,
        "by_queue": [(q, [c[o] for o in outcomes], sum(c.values())) for q, c in sorted(by_queue.items())],
        "by_disposition": by_disposition.most_common(),
        # Callbacks created by where they were asked for (web, mobile, IVR …) and by their queue's dial mode.
        "modes": [str(MODE_NAMES[m]) for m in modes],
        "by_origin": [
            (gettext(Origin(origin).label), [c[m.value] for m in modes], sum(c.values()))
            for origin, c in sorted(by_origin.items(), key=lambda item: -sum(item[1].values()))
        ],
    }


# --- The agent's own day, on their workspace ---------------------------------------------------------------------


@dataclass
class AgentDay(HandleTime):
    """An agent's day so far in their own zone: handled and average handle time as the activity report counts them,
    time Ready, the scheduled callbacks of their queues due within the hour (the board's figure), and their own."""

    handled: int = 0
    handle_seconds: float = 0.0
    ready_seconds: float = 0.0
    due_next_hour: int = 0
    waiting: int = 0
    personal: int = 0


def agent_day(agent: Agent, now: datetime | None = None) -> AgentDay:
    now = now or timezone.now()
    start = timezone.localtime(now, ZoneInfo(agent.timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
    day = AgentDay()
    for line in agent_activity([agent], start, now, now=now):
        day.handled += line.handled
        day.handle_seconds += line.handle_seconds
        day.ready_seconds += line.seconds[AgentStatus.READY]
    S = CallbackState
    counts = CallbackRequest.objects.filter(Q(queue__in=agent.queues.all()) | Q(owner=agent)).aggregate(
        soon=Count("pk", filter=Q(state=S.SCHEDULED, desired_time__lt=now + timedelta(hours=1))),
        waiting=Count("pk", filter=Q(state=S.QUEUED)),
        personal=Count("pk", filter=Q(owner=agent, state__in=[S.SCHEDULED, S.QUEUED, S.OFFERED])),
    )
    day.due_next_hour, day.waiting, day.personal = counts["soon"], counts["waiting"], counts["personal"]
    return day
