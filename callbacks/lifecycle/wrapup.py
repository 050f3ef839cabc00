"""Wrap-up: Dispositions, Note, Reschedule a Callback, Mark Done, and closing the window.

Owns: `close_interaction` (the one way an interaction window closes, with a
`ClosingReason`; the agent goes to After Call Work or is free and idle),
the disposition and note rules of Mark Done, and the reschedule checks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext

from .. import calendars, callstate
from ..enums import (
    AgentStatus,
    CallbackEvent,
    CallbackState,
    CallOutcome,
    CallState,
    ClosingReason,
    HistoryKind,
    InteractionState,
)
from ..errors import DomainError, Invalid
from ..models import Call, CallbackRequest, DispositionCode, Interaction, Note
from ..push import Push, push_on_commit
from .lines import end_call, live_call
from .offers import route_on_commit
from .presence import change_status, mark_idle
from .transitions import action, desk_push, locked_interaction_for, record, transition

NOTE_MAX = 4000


def close_interaction(interaction: Interaction, *, reason: ClosingReason, now: datetime, note: str = "") -> None:
    """The interaction window closes; the agent goes to After Call Work (if the queue says so) or is free."""
    interaction.state = InteractionState.DONE
    interaction.ended_at = now
    interaction.closing_reason = reason
    interaction.closing_note = (note or reason.label)[:200]
    interaction.save(update_fields=["state", "ended_at", "closing_reason", "closing_note"])
    queue = interaction.callback.queue
    current = mark_idle(interaction.agent, interaction.channel, now, status_needed=bool(queue.after_call_work_seconds))
    # After Call Work follows a Ready agent's call; an agent who went Not Ready or logged out stays so.
    if queue.after_call_work_seconds and current in (AgentStatus.READY, AgentStatus.AFTER_CALL_WORK):
        change_status(
            interaction.agent,
            interaction.channel,
            AgentStatus.AFTER_CALL_WORK,
            reason=None,
            actor=None,
            now=now,
            until=now + timedelta(seconds=queue.after_call_work_seconds),
        )
    else:
        route_on_commit(queue.pk, interaction.channel)
    # The agent's own Mark Done changes their window only; a closing by the system leaves a notice on the desk.
    push = Push.INTERACTION_CLOSED if reason == ClosingReason.MARKED_DONE else Push.INTERACTION_CHANGED
    event, entity = desk_push(push, interaction.callback, interaction.agent_id, interaction.pk)
    push_on_commit(event, agent_ids=[interaction.agent_id], entity=entity)


def dispositions_for(queue_id: int):
    return DispositionCode.objects.filter(Q(queue_id=queue_id) | Q(queue__isnull=True), active=True).order_by("order", "label")


@action
def do_set_disposition(*, user: AbstractBaseUser, interaction_id: int, code_id: int) -> Interaction:
    """The agent picked a disposition (while the call is live or after it ended)."""
    interaction = locked_interaction_for(user, interaction_id)
    code = dispositions_for(interaction.callback.queue_id).filter(pk=code_id).first()
    if code is None:
        raise Invalid(gettext("That disposition is not available for this queue."), field="disposition")
    if interaction.disposition_id == code.pk:
        return interaction
    interaction.disposition = code
    interaction.save(update_fields=["disposition"])
    record(
        HistoryKind.DISPOSITION,
        f"Disposition: {code.label}",
        callback=interaction.callback,
        agent=interaction.agent,
        actor=user,
        code=code.code,
    )
    push_on_commit(Push.INTERACTION_CHANGED, agent_ids=[interaction.agent_id])
    return interaction


@action
def do_add_note(*, user: AbstractBaseUser, interaction_id: int, text: str) -> Note:
    """The agent added a Note: attached to the call history."""
    text = (text or "").strip()
    if not text:
        raise Invalid(gettext("The note is empty."), field="text")
    if len(text) > NOTE_MAX:
        raise Invalid(
            gettext("A note is at most %(max)s characters.") % {"max": number_format(NOTE_MAX, force_grouping=True)}, field="text"
        )
    interaction = locked_interaction_for(user, interaction_id)
    now = timezone.now()
    note = Note.objects.create(callback=interaction.callback, interaction=interaction, author=user, text=text, created_at=now)
    record(
        HistoryKind.NOTE,
        f"Note: {text}",
        callback=interaction.callback,
        agent=interaction.agent,
        actor=user,
        at=now,
        note=note.pk,
    )
    push_on_commit(Push.INTERACTION_CHANGED, agent_ids=[interaction.agent_id])
    return note


@action
def do_mark_done(*, user: AbstractBaseUser, interaction_id: int) -> Interaction:
    """The agent clicked Mark Done (or Done on the preview).

    Refused while a call is live, and without a disposition when the queue
    requires one (or without a note when the disposition requires one).
    """
    now = timezone.now()
    interaction = locked_interaction_for(user, interaction_id)
    callback = interaction.callback
    # Every call of the callback, newest first, in one read: the live one refuses, the others tell the outcome.
    calls = list(Call.objects.select_for_update().filter(callback=callback).order_by("-started_at"))
    live = next((c for c in calls if c.interaction_id == interaction.pk and c.state != CallState.ENDED), None)
    callstate.check("mark_done", callstate.status_of(live))
    if callback.queue.require_disposition and interaction.disposition_id is None:
        raise DomainError(gettext("Choose a disposition before Mark Done."))
    if interaction.disposition_id and interaction.disposition.note_required and not interaction.notes.exists():
        raise DomainError(
            gettext("The disposition “%(disposition)s” needs a note before Mark Done.")
            % {"disposition": interaction.disposition.label}
        )
    if callback.state == CallbackState.IN_PROGRESS:
        reached = any(c.connected_at for c in calls)
        if not reached and calls and callback.attempts >= callback.max_attempts:
            event = CallbackEvent.FAIL
            last = calls[0]
            callback.outcome = (
                f"Attempts exhausted: {CallOutcome(last.outcome).label.lower()}" if last.outcome else "Attempts exhausted"
            )
        else:
            event = CallbackEvent.COMPLETE
            callback.outcome = (
                interaction.disposition.label if interaction.disposition_id else ("Done" if reached else "Done without a call")
            )
        transition(
            callback,
            event,
            now=now,
            message=f"Marked done by {interaction.agent}: {callback.outcome}",
            agent=interaction.agent,
            actor=user,
            notify=[interaction.agent_id],
            fields=["outcome"],
            interaction_entity=interaction.pk,
        )
    else:
        record(
            HistoryKind.DONE,
            f"Marked done by {interaction.agent}",
            callback=callback,
            agent=interaction.agent,
            actor=user,
            at=now,
        )
    close_interaction(interaction, reason=ClosingReason.MARKED_DONE, now=now)
    return interaction


def validate_reschedule(callback: CallbackRequest, local: datetime, now: datetime) -> datetime:
    """A new time typed in the customer's zone: future, inside business hours and the availability window."""
    zone = ZoneInfo(callback.customer_timezone)
    if local.year < now.year - 1:
        raise Invalid(gettext("Pick a time in the future."), field="when")
    if local.year > now.year + 1:
        raise Invalid(gettext("Pick a time within the next year."), field="when")
    when = local.replace(tzinfo=zone) if timezone.is_naive(local) else local
    if when > now + timedelta(days=366):
        raise Invalid(gettext("Pick a time within the next year."), field="when")
    if when < now + timedelta(minutes=1):
        raise Invalid(gettext("Pick a time in the future."), field="when")
    if callback.window_start and callback.window_end and not (callback.window_start <= when <= callback.window_end):
        start, end = callback.window_start.astimezone(zone), callback.window_end.astimezone(zone)
        shown = {"start": date_format(start, "j M H:i"), "end": date_format(end, "j M H:i"), "zone": callback.customer_timezone}
        raise Invalid(gettext("The customer is available %(start)s–%(end)s (%(zone)s).") % shown, field="when")
    slot = calendars.slot_at(callback.queue, when, excluding=callback.pk)
    if slot is None or slot.remaining == 0:
        nearest = calendars.nearest_free(callback.queue, when, now=now, excluding=callback.pk, count=3)
        offered = ", ".join(date_format(s.start.astimezone(zone), "D j M H:i") for s in nearest) or gettext(
            "none in the next weeks"
        )
        if slot is None:
            problem = gettext("%(queue)s does not take calls then. Nearest free times (%(zone)s): %(times)s.")
        else:
            problem = gettext("%(queue)s is fully booked then. Nearest free times (%(zone)s): %(times)s.")
        raise Invalid(
            problem % {"queue": callback.queue.name, "zone": callback.customer_timezone, "times": offered},
            field="when",
            code="outside_hours" if slot is None else "slot_full",
        )
    return when


@action
def do_reschedule_callback(*, user: AbstractBaseUser, interaction_id: int, when: datetime, personal: bool = False) -> Interaction:
    """The agent rescheduled the callback (Reschedule / Schedule a Callback).

    The current attempt closes (a live call is ended) and the callback returns
    to `scheduled` with its history. Refused for a past time or outside the
    queue's business hours or the customer's availability window.
    """
    now = timezone.now()
    interaction = locked_interaction_for(user, interaction_id)
    callback = interaction.callback
    if callback.state != CallbackState.IN_PROGRESS:
        raise DomainError(gettext("This callback can no longer be rescheduled from here."))
    when = validate_reschedule(callback, when, now)
    call = live_call(interaction)
    if call is not None:
        end_call(call, CallOutcome.AGENT_HANGUP, now, hang_up=True)
    callback.desired_time = when
    callback.enqueued_at = None
    callback.owner = interaction.agent if personal else None
    callback.reminded_at = None
    shown = when.astimezone(ZoneInfo(callback.customer_timezone))
    transition(
        callback,
        CallbackEvent.RESCHEDULE,
        now=now,
        message=f"{'Personal callback' if personal else 'Rescheduled'} by {interaction.agent} for {shown:%a %d %b %Y %H:%M} ({callback.customer_timezone})",
        agent=interaction.agent,
        actor=user,
        notify=[interaction.agent_id],
        fields=["desired_time", "enqueued_at", "owner", "reminded_at"],
        when=when.isoformat(),
    )
    close_interaction(interaction, reason=ClosingReason.RESCHEDULED, now=now)
    return interaction
