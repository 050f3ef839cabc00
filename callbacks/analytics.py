"""Callback analytics: every figure's definition, computed here and nowhere else (docs/analytics.md).

`recount` counts the figures of each queue and hour from the source tables (callbacks, calls, interactions, voice
sessions). The clock keeps the rollup (`QueueHour`) up to date with it (`roll_up`): hours before the mark are
settled there, and the pages add a live recount of the hours after it (at most the last hour or two), so they read
a few hundred small rows whatever the volume, and are exact to the second.

Each figure belongs to the hour of the event that settles it: a request to the hour it was made, a first dial to
the hour it was dialled, a close to the hour the callback closed, a dial's outcome to the hour it ended, a handled
interaction to the hour it ended. An hour that has passed therefore does not change again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Exists, Min, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, ExtractHour, TruncDate, TruncHour
from django.utils import timezone

from . import calendars
from .enums import DIAL_FAILURES, CallbackType, CloseReason
from .models import (
    Call,
    CallbackRequest,
    Interaction,
    Queue,
    QueueHour,
    RollupMark,
    VoiceOutcome,
    VoiceSession,
)
from .models.analytics import COUNTER_COLUMNS, LATENESS_LABELS

HOUR = timedelta(hours=1)
# How recent an hour is still counted live by the pages rather than read from the rollup: events are written as
# they happen, so an hour an hour old has all of them.
SETTLE_AFTER = timedelta(hours=1)
CATCH_UP = timedelta(days=7)  # the most one run of the clock adds to the rollup (a first run on old data)
MARK = "analytics"

# First dials by how late they came after the callback's time: (label, upper bound in minutes, inclusive).
LATENESS = tuple(zip(LATENESS_LABELS, (0, 5, 15, 30, 60, 120, None), strict=True))
MENU_ABANDONED = (VoiceOutcome.HUNG_UP, VoiceOutcome.NO_INPUT, VoiceOutcome.INVALID)
# Closed without a single dial, for a reason that means we did not get to them (cancellations are the customer's).
MISSED_REASONS = (CloseReason.EXPIRED, CloseReason.FAILED)

COUNTERS = tuple(COUNTER_COLUMNS)


class HandleTime:
    """Handled interactions and their total time, from Accept to the end: the one definition of handle time, for
    the analytics, the live board, the agents' activity report and My day."""

    handled: int
    handle_seconds: float

    def count_handled(self, accepted: datetime, ended: datetime) -> None:
        self.handled += 1
        self.handle_seconds += (ended - accepted).total_seconds()

    @property
    def average_handle_seconds(self) -> float | None:
        return None if not self.handled else self.handle_seconds / self.handled


@dataclass
class Figures(HandleTime):
    """The figures of one queue over some hours: sums, so any hours add up (`add`)."""

    requested: int = 0
    by_origin: Counter = field(default_factory=Counter)
    asap_dialled: int = 0
    asap_wait_seconds: float = 0.0
    asap_connected: int = 0
    asap_connect_seconds: float = 0.0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    lateness: Counter = field(default_factory=Counter)
    successes: int = 0
    success_attempts: int = 0
    dials: Counter = field(default_factory=Counter)
    closed: Counter = field(default_factory=Counter)
    menu_abandoned: int = 0
    menu_left: int = 0
    menu_booked: int = 0
    handled: int = 0
    handle_seconds: float = 0.0

    def add(self, other: Figures) -> Figures:
        for f in fields(self):
            mine = getattr(self, f.name)
            if f.name in COUNTERS:
                mine.update(+getattr(other, f.name))
            else:
                setattr(self, f.name, mine + getattr(other, f.name))
        return self

    def columns(self) -> dict:
        """The figures as the rollup's columns (each counter's keys as columns of their own)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in COUNTERS}
        for counter, keys in COUNTER_COLUMNS.items():
            counted = getattr(self, counter)
            out.update({column: counted[key] for key, column in keys.items()})
        return out

    @classmethod
    def from_columns(cls, row) -> Figures:
        """From the rollup's columns: a row (`QueueHour`), or a dict of sums (None where nothing was summed)."""
        get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
        figures = cls(**{f.name: get(f.name) or 0 for f in fields(cls) if f.name not in COUNTERS})
        for counter, keys in COUNTER_COLUMNS.items():
            getattr(figures, counter).update({key: get(column) for key, column in keys.items() if get(column)})
        return figures

    # --- What the pages show, each defined once ---

    @property
    def promised(self) -> int:
        """Callbacks measured against the promise: first dialled (on time or late), or closed undialled."""
        return self.on_time + self.late + self.missed

    @property
    def on_time_rate(self) -> float | None:
        return None if not self.promised else self.on_time / self.promised

    @property
    def average_wait_to_dial(self) -> float | None:
        return None if not self.asap_dialled else self.asap_wait_seconds / self.asap_dialled

    @property
    def average_wait_to_connect(self) -> float | None:
        return None if not self.asap_connected else self.asap_connect_seconds / self.asap_connected

    @property
    def attempts_per_success(self) -> float | None:
        return None if not self.successes else self.success_attempts / self.successes

    @property
    def expired(self) -> int:
        return self.closed[CloseReason.EXPIRED.value]

    @property
    def cancelled(self) -> int:
        return self.closed[CloseReason.CANCELLED.value] + self.closed[CloseReason.CANCELLED_BY_ADMIN.value]


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def lateness_bucket(minutes: float) -> str:
    for label, upper in LATENESS:
        if upper is None or minutes <= upper:
            return label
    return LATENESS[-1][0]  # pragma: no cover - the last bound is open


def dial_outcome(connected_at: datetime | None, outcome: str) -> str:
    """A dial as the analytics count it: connected (the customer answered, whatever ended it), or how it failed."""
    if connected_at is not None:
        return "connected"
    return outcome if outcome in DIAL_FAILURES else "other"


# --- Counting from the source tables ---


def recount(start: datetime, end: datetime, queue_ids: Iterable[int] | None = None) -> dict[tuple[int, datetime], Figures]:
    """Every figure of each queue (all, or `queue_ids`) and hour in [start, end), counted from the source tables."""
    out: dict[tuple[int, datetime], Figures] = {}

    def at(queue_id: int, when: datetime) -> Figures:
        key = (queue_id, hour_of(when))
        if key not in out:
            out[key] = Figures()
        return out[key]

    def within(qs, name: str):
        qs = qs.filter(**{f"{name}__gte": start, f"{name}__lt": end})
        return qs if queue_ids is None else qs.filter(**{_queue_path(qs.model): list(queue_ids)})

    requests = within(CallbackRequest.objects.all(), "created_at")
    for queue_id, hour, origin, n in (
        requests.annotate(h=TruncHour("created_at", tzinfo=UTC))
        .values_list("queue_id", "h", "origin")
        .order_by()
        .annotate(n=Count("pk"))
    ):
        figures = at(queue_id, hour)
        figures.requested += n
        figures.by_origin[origin] += n

    _first_dials(within(Call.objects.all(), "started_at"), at)
    _first_connections(within(Call.objects.filter(connected_at__isnull=False), "connected_at"), at)

    dials_of = Call.objects.filter(callback=OuterRef("pk")).order_by().values("callback").annotate(n=Count("pk")).values("n")
    closed = within(CallbackRequest.objects.filter(closed_at__isnull=False), "closed_at").annotate(
        dialled=Coalesce(Subquery(dials_of), 0)
    )
    for queue_id, closed_at, reason, dialled in closed.values_list("queue_id", "closed_at", "close_reason", "dialled"):
        figures = at(queue_id, closed_at)
        figures.closed[reason or "other"] += 1
        if reason == CloseReason.DONE:
            figures.successes += 1
            figures.success_attempts += dialled
        elif reason in MISSED_REASONS and not dialled:
            figures.missed += 1

    for queue_id, ended_at, connected_at, outcome in within(Call.objects.filter(ended_at__isnull=False), "ended_at").values_list(
        "callback__queue_id", "ended_at", "connected_at", "outcome"
    ):
        at(queue_id, ended_at).dials[dial_outcome(connected_at, outcome)] += 1

    menu = within(VoiceSession.objects.filter(direction="in", ended_at__isnull=False), "ended_at")
    for queue_id, ended_at, outcome in menu.values_list("queue_id", "ended_at", "outcome"):
        figures = at(queue_id, ended_at)
        figures.menu_abandoned += outcome in MENU_ABANDONED
        figures.menu_left += outcome == VoiceOutcome.LEFT
        figures.menu_booked += outcome == VoiceOutcome.BOOKED

    handled = within(Interaction.objects.filter(ended_at__isnull=False), "ended_at")
    for queue_id, created_at, ended_at in handled.values_list("callback__queue_id", "created_at", "ended_at"):
        at(queue_id, ended_at).count_handled(created_at, ended_at)
    return out


def _queue_path(model) -> str:
    return "queue_id__in" if model in (CallbackRequest, VoiceSession) else "callback__queue_id__in"


def _first_dials(calls, at) -> None:
    """Each callback's first dial: against its time and the queue's promise, and, asked for as soon as possible,
    how long the customer waited for it."""
    earlier = Call.objects.filter(callback=OuterRef("callback"), started_at__lt=OuterRef("started_at"))
    rows = calls.filter(~Exists(earlier)).values_list(
        "callback__queue_id",
        "started_at",
        "callback__created_at",
        "callback__desired_time",
        "callback__type",
        "callback__queue__promise_minutes",
        "callback__queue__calendar_id",
    )
    for queue_id, dialled, created, desired, kind, promise, calendar_id in rows:
        figures = at(queue_id, dialled)
        asap = kind == CallbackType.IMMEDIATE or desired is None
        due = asked_time(created, calendar_id) if asap else desired
        late_by = (dialled - due).total_seconds() / 60
        figures.lateness[lateness_bucket(late_by)] += 1
        if late_by <= promise:
            figures.on_time += 1
        else:
            figures.late += 1
        if asap:
            figures.asap_dialled += 1
            figures.asap_wait_seconds += (dialled - created).total_seconds()


def asked_time(created: datetime, calendar_id: int | None) -> datetime:
    """When an "as soon as possible" callback's clock starts: when it was asked for, or, asked while its queue was
    closed, when the queue opened."""
    opens = calendars.next_open(calendars.spec_for_calendar(calendar_id), created)
    return max(created, opens) if opens is not None else created


def _first_connections(calls, at) -> None:
    earlier = Call.objects.filter(
        callback=OuterRef("callback"), connected_at__isnull=False, connected_at__lt=OuterRef("connected_at")
    )
    rows = calls.filter(~Exists(earlier)).values_list(
        "callback__queue_id", "connected_at", "callback__created_at", "callback__desired_time", "callback__type"
    )
    for queue_id, connected, created, desired, kind in rows:
        if kind == CallbackType.IMMEDIATE or desired is None:
            figures = at(queue_id, connected)
            figures.asap_connected += 1
            figures.asap_connect_seconds += (connected - created).total_seconds()


# --- The rollup ---


def roll_up(now: datetime | None = None) -> int:
    """Settle the hours that are an hour old into `QueueHour` (at most `CATCH_UP` of them a run): recount them,
    replace their rows, move the mark. Safe from any number of processes: one run holds the mark, the others skip.
    The hours settled."""
    now = now or timezone.now()
    RollupMark.objects.get_or_create(name=MARK)
    with transaction.atomic():
        mark = RollupMark.objects.select_for_update(skip_locked=True).filter(name=MARK).first()
        if mark is None:
            return 0  # another process is settling
        settle_to = hour_of(now - SETTLE_AFTER)
        start = mark.settled_to or first_hour() or settle_to
        end = min(settle_to, start + CATCH_UP)
        if end <= start:
            return 0
        counted = recount(start, end)
        QueueHour.objects.filter(hour__gte=start, hour__lt=end).delete()
        QueueHour.objects.bulk_create(
            QueueHour(queue_id=queue_id, hour=hour, **figures.columns()) for (queue_id, hour), figures in counted.items()
        )
        mark.settled_to = end
        mark.save(update_fields=["settled_to", "updated_at"])
    return int((end - start) / HOUR)


def first_hour() -> datetime | None:
    """The hour of the oldest thing there is to count."""
    oldest = [
        CallbackRequest.objects.aggregate(at=Min("created_at"))["at"],
        VoiceSession.objects.aggregate(at=Min("arrived_at"))["at"],
    ]
    known = [o for o in oldest if o is not None]
    return hour_of(min(known)) if known else None


def rebuild() -> int:
    """Forget the rollup and settle everything again (after a restore, or a change of definitions)."""
    with transaction.atomic():
        QueueHour.objects.all().delete()
        RollupMark.objects.filter(name=MARK).update(settled_to=None)
    hours = 0
    while settled := roll_up():
        hours += settled
    return hours


# --- Reading: sums of the settled hours, plus a live recount of what is not settled yet ---


@dataclass
class Analytics:
    """One period's figures for some queues: the total, by queue, and along the period (by hour of the day, and
    by day, in the viewer's zone)."""

    start: datetime
    end: datetime
    zone: ZoneInfo
    total: Figures
    by_queue: dict[int, Figures]
    by_hour_of_day: list[Figures]  # 0…23
    by_day: list[tuple[date, Figures]]


SUMS = {f"sum_{column}": Sum(column) for column in Figures().columns()}


def _summed(row: dict) -> Figures:
    return Figures.from_columns({name[4:]: value for name, value in row.items() if name.startswith("sum_")})


def analytics(queues: list[Queue], start: datetime, end: datetime, zone: ZoneInfo) -> Analytics:
    """The figures of these queues over [start, end) (hours aligned to UTC hours). Settled hours are summed by the
    database from the rollup, by queue, by hour of the day and by day in `zone` (three statements, whatever the
    period's length); the hours after the mark are recounted live and added."""
    ids = [q.pk for q in queues]
    start, end = hour_of(start), hour_of(end - timedelta(microseconds=1)) + HOUR
    by_queue = {q.pk: Figures() for q in queues}
    by_hour = [Figures() for _ in range(24)]
    days: dict[date, Figures] = {}
    day = start.astimezone(zone).date()
    while datetime.combine(day, datetime.min.time(), zone) < end:
        days[day] = Figures()
        day += timedelta(days=1)
    settled_to = RollupMark.objects.filter(name=MARK).values_list("settled_to", flat=True).first()
    live_from = max(start, settled_to) if settled_to else start
    if settled_to and settled_to > start:
        rows = QueueHour.objects.filter(queue_id__in=ids, hour__gte=start, hour__lt=min(end, settled_to)).order_by()
        for row in rows.values("queue_id").annotate(**SUMS):
            by_queue[row["queue_id"]].add(_summed(row))
        for row in rows.annotate(local_hour=ExtractHour("hour", tzinfo=zone)).values("local_hour").annotate(**SUMS):
            by_hour[row["local_hour"]].add(_summed(row))
        for row in rows.annotate(local_day=TruncDate("hour", tzinfo=zone)).values("local_day").annotate(**SUMS):
            days.setdefault(row["local_day"], Figures()).add(_summed(row))
    if live_from < end:
        for (queue_id, hour), figures in recount(live_from, end, ids).items():
            local = hour.astimezone(zone)
            by_queue[queue_id].add(figures)
            by_hour[local.hour].add(figures)
            days.setdefault(local.date(), Figures()).add(figures)
    total = Figures()
    for figures in by_queue.values():
        total.add(figures)
    return Analytics(start, end, zone, total, by_queue, by_hour, sorted(days.items()))
