"""Slots to reschedule into or promise, and where a callback stands in its queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.utils import dateformat
from django.utils.translation import gettext

from .. import calendars
from ..enums import AgentStatus, CallbackState, InteractionState
from ..errors import DomainError
from ..models import Agent, AgentChannelStatus, CallbackRequest, Interaction, Queue


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


@dataclass(frozen=True)
class Position:
    """Where a callback stands: its place in line (1 = next) while it waits, and the estimated wait."""

    state: str
    position: int | None
    ewt_seconds: int | None
    agents: int


DEFAULT_HANDLE_SECONDS = 300


def queue_position(callback: CallbackRequest, now: datetime) -> Position:
    """Place in line by the routing order (priority, immediate first, then time in line); the estimated wait is
    the rounds of the queue's staffed agents ahead of it times its recent average handling time, and never before
    the queue opens. A scheduled callback waits until its time."""
    staffed = staffed_agents(callback.queue_id, callback.channel)
    if callback.state == CallbackState.SCHEDULED:
        wait = max(0, int(((callback.desired_time or now) - now).total_seconds()))
        return Position(callback.state, None, wait, staffed)
    if callback.state != CallbackState.QUEUED:
        return Position(callback.state, None, 0 if callback.state == CallbackState.OFFERED else None, staffed)
    ahead, wait = line_estimate(
        callback.queue,
        callback.channel,
        now,
        priority=callback.priority,
        type_rank=callback.type_rank,
        enqueued=callback.enqueued_at or callback.created_at,
        pk=callback.pk,
        staffed=staffed,
    )
    return Position(callback.state, ahead + 1, wait, staffed)


def staffed_agents(queue_id: int, channel: str) -> int:
    return (
        AgentChannelStatus.objects.filter(channel=channel, agent__queues=queue_id).exclude(status=AgentStatus.LOGGED_OUT).count()
    )


def line_estimate(
    queue: Queue,
    channel: str,
    now: datetime,
    *,
    priority: int = 5,
    type_rank: int = 0,
    enqueued: datetime | None = None,
    pk: int | None = None,
    staffed: int | None = None,
) -> tuple[int, int]:
    """(callbacks ahead, estimated wait in seconds) of a callback waiting in `queue` with this rank — an existing
    one (`pk`), or one about to be booked (the voice menu's greeting: an immediate callback in line since the call
    arrived)."""
    if staffed is None:
        staffed = staffed_agents(queue.pk, channel)
    enqueued = enqueued or now
    same = CallbackRequest.objects.filter(queue_id=queue.pk, channel=channel, state=CallbackState.QUEUED)
    before = (
        Q(priority__gt=priority)
        | Q(priority=priority, type_rank__lt=type_rank)
        | Q(priority=priority, type_rank=type_rank, enqueued_at__lt=enqueued)
    )
    if pk is not None:
        before |= Q(priority=priority, type_rank=type_rank, enqueued_at=enqueued, pk__lt=pk)
    ahead = same.filter(before).count()
    recent = list(
        Interaction.objects.filter(callback__queue_id=queue.pk, state=InteractionState.DONE, ended_at__isnull=False)
        .order_by("-ended_at")
        .values_list("created_at", "ended_at")[:50]
    )
    handle = sum((end - start).total_seconds() for start, end in recent) / len(recent) if recent else DEFAULT_HANDLE_SECONDS
    rounds = ahead // max(staffed, 1) + (1 if staffed == 0 else 0)
    wait = int(rounds * handle)
    opens = calendars.next_open(calendars.spec_for(queue), now)
    if opens is not None:
        wait = max(wait, int((opens - now).total_seconds()))
    return ahead, wait
