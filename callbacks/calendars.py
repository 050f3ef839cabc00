"""The one calendar service: is an instant open, the next open instant, and the free slots between two instants.

Every decision about time asks it: intake (a scheduled time must be open and
have room), routing (never ring a closed queue or outside the customer's
availability window), automatic retries, the agent's reschedule picker, and
the availability endpoints of both APIs.

Hours are written in the calendar's own zone, as people write them. A local
time that does not exist (the spring-forward gap) is read as the same wall
time before the change, so it lands just after the gap (02:30 → 03:30); an
ambiguous one (the autumn overlap) is its first occurrence. A day's ranges
come from its exceptions when it has any (none open means closed), otherwise
from its weekday. A queue without a calendar is open around the clock, with
15-minute slots of 10 callbacks.

The arithmetic works on a plain `Spec`, so it is tested without a database;
`spec_for` loads one (cached per process and invalidated whenever a calendar,
its hours or its exceptions change).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from .enums import CallbackState, CallbackType
from .models import BusinessCalendar, CalendarException, CallbackRequest, OpeningHours, Queue

Range = tuple[time, time]
Interval = tuple[datetime, datetime]

DEFAULT_SLOT_MINUTES = 15
DEFAULT_SLOT_CAPACITY = 10
# How far ahead "next open instant" looks before it gives up (a calendar closed for good).
HORIZON_DAYS = 400
# A slot is taken by a callback promised for it: scheduled by the customer or an agent, and still open.
PROMISED_STATES = (CallbackState.SCHEDULED, CallbackState.QUEUED, CallbackState.OFFERED, CallbackState.IN_PROGRESS)
ALL_DAY: tuple[Range, ...] = ((time(0), time(0)),)


@dataclass(frozen=True)
class Spec:
    """A calendar as plain data."""

    zone: ZoneInfo
    weekly: dict[int, tuple[Range, ...]] = field(default_factory=dict)
    exceptions: dict[date, tuple[Range, ...]] = field(default_factory=dict)
    slot_minutes: int = DEFAULT_SLOT_MINUTES
    capacity: int = DEFAULT_SLOT_CAPACITY
    always_open: bool = False

    def ranges_on(self, day: date) -> tuple[Range, ...]:
        if self.always_open:
            return ALL_DAY
        if day in self.exceptions:
            return self.exceptions[day]
        return self.weekly.get(day.weekday(), ())


ALWAYS = Spec(zone=ZoneInfo("UTC"), always_open=True)


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    # fold=0: a wall time in a gap reads with the offset before it (so it lands after the gap); in an overlap, the first.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _day_intervals(spec: Spec, day: date) -> list[Interval]:
    found = []
    for opens, closes in spec.ranges_on(day):
        end_day = day + timedelta(days=1) if closes <= opens else day
        start, end = _instant(day, opens, spec.zone), _instant(end_day, closes, spec.zone)
        if end > start:
            found.append((start, end))
    return found


def open_intervals(spec: Spec, start: datetime, end: datetime) -> list[Interval]:
    """The open stretches of time inside [start, end), merged and in order (UTC)."""
    if end <= start:
        return []
    first = start.astimezone(spec.zone).date() - timedelta(days=1)  # yesterday's overnight range may still run
    last = end.astimezone(spec.zone).date()
    raw: list[Interval] = []
    day = first
    while day <= last:
        raw.extend(_day_intervals(spec, day))
        day += timedelta(days=1)
    merged: list[Interval] = []
    for a, b in sorted(raw):
        a, b = max(a, start), min(b, end)
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def is_open(spec: Spec, at: datetime) -> bool:
    return spec.always_open or bool(open_intervals(spec, at, at + timedelta(microseconds=1)))


def next_open(spec: Spec, at: datetime, *, until: datetime | None = None) -> datetime | None:
    """The first open instant at or after `at` (before `until`), or None."""
    limit = until or at + timedelta(days=HORIZON_DAYS)
    step = timedelta(days=7)
    cursor = at
    while cursor < limit:
        found = open_intervals(spec, cursor, min(cursor + step, limit))
        if found:
            return found[0][0]
        cursor += step
    return None


def routable_from(spec: Spec, at: datetime, window_start: datetime | None, window_end: datetime | None) -> datetime | None:
    """The first instant at or after `at` when the queue is open and the customer is available; None if there is none."""
    start = max(at, window_start) if window_start else at
    if window_end is not None and start >= window_end:
        return None
    return next_open(spec, start, until=window_end)


def _first_on_grid(spec: Spec, at: datetime, length: timedelta) -> datetime:
    """The first slot boundary at or after `at`: local wall times on the slot grid from midnight (08:00, 08:15 …)."""
    local = at.astimezone(spec.zone)
    midnight = datetime.combine(local.date(), time(0))
    elapsed = local.replace(tzinfo=None) - midnight
    steps = -(-elapsed // length)  # ceiling
    t = (midnight + steps * length).replace(tzinfo=spec.zone).astimezone(UTC)
    while t < at:  # a wall time shifted by a clock change
        t += length
    return t


def slot_starts(spec: Spec, start: datetime, end: datetime) -> list[datetime]:
    """Starts of the whole slots inside the open time that begin in [start, end), on the local grid of the slot
    length (an opening at 08:10 with 15-minute slots gives 08:15, 08:30 …)."""
    length = timedelta(minutes=spec.slot_minutes)
    starts: list[datetime] = []
    for a, b in open_intervals(spec, start, end + length):
        t = _first_on_grid(spec, a, length)
        while t + length <= b and t < end:
            starts.append(t)
            t += length
    return starts


# --- Loading a calendar, cached per process ---

_loaded: dict[int, tuple[str, Spec]] = {}


def _version_key(calendar_id: int) -> str:
    return f"rb:calendar:{calendar_id}"


def calendar_changed(calendar_id: int) -> None:
    """Every process reloads this calendar before its next decision."""
    cache.set(_version_key(calendar_id), uuid.uuid4().hex, None)
    _loaded.pop(calendar_id, None)


def load_spec(calendar: BusinessCalendar) -> Spec:
    weekly: dict[int, list[Range]] = {}
    for row in OpeningHours.objects.filter(calendar=calendar).order_by("weekday", "opens"):
        weekly.setdefault(row.weekday, []).append((row.opens, row.closes))
    exceptions: dict[date, list[Range]] = {}
    for row in CalendarException.objects.filter(calendar=calendar).order_by("date", "opens"):
        ranges = exceptions.setdefault(row.date, [])
        if not row.closed and row.opens is not None and row.closes is not None:
            ranges.append((row.opens, row.closes))
    return Spec(
        zone=ZoneInfo(calendar.timezone),
        weekly={k: tuple(v) for k, v in weekly.items()},
        exceptions={k: tuple(v) for k, v in exceptions.items()},
        slot_minutes=calendar.slot_minutes,
        capacity=calendar.slot_capacity,
    )


def spec_for_calendar(calendar_id: int | None) -> Spec:
    if calendar_id is None:
        return ALWAYS
    version = cache.get(_version_key(calendar_id))
    held = _loaded.get(calendar_id)
    if held is not None and version is not None and held[0] == version:
        return held[1]
    calendar = BusinessCalendar.objects.get(pk=calendar_id)
    spec = load_spec(calendar)
    if version is None:
        version = uuid.uuid4().hex
        cache.add(_version_key(calendar_id), version, None)
        version = cache.get(_version_key(calendar_id)) or version
    _loaded[calendar_id] = (version, spec)
    return spec


def spec_for(queue: Queue) -> Spec:
    return spec_for_calendar(queue.calendar_id)


def _on_change(sender, instance, **kwargs) -> None:
    calendar_changed(instance.pk if isinstance(instance, BusinessCalendar) else instance.calendar_id)


for _model in (BusinessCalendar, OpeningHours, CalendarException):
    post_save.connect(_on_change, sender=_model, dispatch_uid=f"calendar-changed-{_model.__name__}")
    post_delete.connect(_on_change, sender=_model, dispatch_uid=f"calendar-deleted-{_model.__name__}")


# --- Slots and their remaining capacity ---


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    remaining: int


def promised_in(queue: Queue, start: datetime, end: datetime, *, excluding: int | None = None):
    """Desired times of the callbacks promised in [start, end) in this queue (one indexed read)."""
    rows = CallbackRequest.objects.filter(
        queue=queue, state__in=PROMISED_STATES, desired_time__gte=start, desired_time__lt=end
    ).exclude(type=CallbackType.IMMEDIATE)
    if excluding is not None:
        rows = rows.exclude(pk=excluding)
    return rows.values_list("desired_time", flat=True)


def slots(queue: Queue, start: datetime, end: datetime, *, excluding: int | None = None, limit: int = 500) -> list[Slot]:
    """Every slot between start and end with what is left of its capacity (full ones included, at 0)."""
    spec = spec_for(queue)
    starts = slot_starts(spec, start, end)[:limit]
    if not starts:
        return []
    length = timedelta(minutes=spec.slot_minutes)
    taken: Counter[datetime] = Counter()
    for desired in promised_in(queue, starts[0], starts[-1] + length, excluding=excluding):
        taken[_slot_of(starts, desired, length)] += 1
    return [Slot(s, s + length, max(0, spec.capacity - taken[s])) for s in starts]


def _slot_of(starts: list[datetime], at: datetime, length: timedelta) -> datetime | None:
    # Starts are sorted: find the last start <= at (binary search), and check `at` falls inside it.
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= at:
            lo = mid + 1
        else:
            hi = mid
    if lo and at < starts[lo - 1] + length:
        return starts[lo - 1]
    return None


def free_slots(queue: Queue, start: datetime, end: datetime, *, excluding: int | None = None, limit: int = 500) -> list[Slot]:
    return [s for s in slots(queue, start, end, excluding=excluding, limit=limit) if s.remaining > 0]


def slot_at(queue: Queue, at: datetime, *, excluding: int | None = None) -> Slot | None:
    """The slot `at` falls in, with its remaining capacity; None when `at` is not inside an open slot."""
    spec = spec_for(queue)
    length = timedelta(minutes=spec.slot_minutes)
    found = slots(queue, at - length, at + length, excluding=excluding)
    return next((s for s in found if s.start <= at < s.end), None)


def nearest_free(queue: Queue, at: datetime, *, now: datetime, count: int = 5, excluding: int | None = None) -> list[Slot]:
    """The free slots closest to `at` (before it, if still in the future, and after it), in time order."""
    spec = spec_for(queue)
    span = timedelta(days=14)
    around = free_slots(queue, max(now, at - span), at + span, excluding=excluding)
    if not around:
        first = next_open(spec, at + span)
        if first is not None:
            around = free_slots(queue, first, first + span, excluding=excluding)
    around.sort(key=lambda s: abs((s.start - at).total_seconds()))
    return sorted(around[:count], key=lambda s: s.start)
