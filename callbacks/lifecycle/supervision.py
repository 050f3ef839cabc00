"""Supervision: what a supervisor does to the callbacks and agents of the queues they supervise.

Owns: the work list's actions (reschedule, cancel, reassign to a queue or an
agent, change priority, pause and resume), each on one callback in its own transaction and
recorded with the supervisor as actor; `bulk`, which runs one of them on many
callbacks and reports what it could not do (a callback an agent took meanwhile
is skipped, never half-changed); and forcing an agent Not Ready or logging
them out. Who may act on what is decided by the getters next to the models
(`get_callback_for_supervisor`, `get_queue_for_supervisor`,
`get_agent_for_supervisor`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext

from ..enums import AgentStatus, CallbackState, HistoryKind, SystemReason
from ..errors import DomainError, Invalid
from ..models import (
    AgentChannelStatus,
    CallbackRequest,
    NotReadyReason,
    callbacks_for,
    get_agent_for_supervisor,
    get_callback_for_supervisor,
    get_queue_for_supervisor,
    person_name,
)
from ..push import push_board_on_commit
from .intake import cancel_callback, locked_open_callback, move_callback
from .offers import move_to_queue, route_on_commit, take_back_offer, withdraw_agent_offers
from .presence import change_status
from .transitions import action, record

MANAGE = "callbacks.manage_callbacks"
BULK_LIMIT = 500


class BulkAction(models.TextChoices):
    RESCHEDULE = "reschedule", "Reschedule"
    CANCEL = "cancel", "Cancel"
    REASSIGN_QUEUE = "reassign_queue", "Move to a queue"
    REASSIGN_AGENT = "reassign_agent", "Assign to an agent"
    PRIORITY = "priority", "Set priority"
    PAUSE = "pause", "Pause"
    RESUME = "resume", "Resume"


def supervised_callback(user: AbstractBaseUser, callback_id: int) -> CallbackRequest:
    """The callback, when `user` may manage it, locked and still waiting (not yet worked by an agent, not closed)."""
    get_callback_for_supervisor(user, callback_id, MANAGE)
    return locked_open_callback(pk=callback_id)


@action
def do_supervisor_reschedule(*, user: AbstractBaseUser, callback_id: int, when: datetime) -> CallbackRequest:
    """Schedule a waiting callback for `when`: an open time of its queue; a supervisor may overbook a full slot."""
    callback = supervised_callback(user, callback_id)
    move_callback(callback, when, timezone.now(), actor=user, by=f"supervisor {person_name(user)}", overbook=True)
    return callback


@action
def do_supervisor_cancel(*, user: AbstractBaseUser, callback_id: int, reason: str = "") -> CallbackRequest:
    callback = supervised_callback(user, callback_id)
    reason = reason.strip()[:200] or f"Cancelled by supervisor {person_name(user)}"
    cancel_callback(callback, timezone.now(), actor=user, reason=reason, by_admin=True)
    return callback


@action
def do_reassign_queue(*, user: AbstractBaseUser, callback_id: int, queue_id: int) -> CallbackRequest:
    """Move a waiting callback to another supervised queue, its place in line kept (a ringing offer ends first)."""
    target = get_queue_for_supervisor(user, queue_id, MANAGE)
    callback = supervised_callback(user, callback_id)
    if not target.active:
        raise Invalid(gettext("%(queue)s is not active.") % {"queue": target}, field="queue")
    if target.pk == callback.queue_id:
        raise DomainError(gettext("Already in %(queue)s.") % {"queue": target}, code="unchanged")
    now = timezone.now()
    if callback.state == CallbackState.OFFERED:
        take_back_offer(callback, now, message=f"Offer withdrawn: moved to {target} by {person_name(user)}", actor=user)
    moved = move_to_queue(
        callback,
        target,
        now,
        message=f"Moved to {target} by supervisor {person_name(user)}",
        kind=HistoryKind.REASSIGNED,
        actor=user,
    )
    if not moved:
        raise DomainError(
            gettext("The customer already has an open callback in %(queue)s.") % {"queue": target}, code="duplicate"
        )
    return callback


@action
def do_reassign_agent(*, user: AbstractBaseUser, callback_id: int, agent_id: int) -> CallbackRequest:
    """Make a waiting callback personal to an agent of its queue: only they are offered it, until the queue's
    grace period after its time (from now, for one due already)."""
    callback = supervised_callback(user, callback_id)
    agent = get_agent_for_supervisor(user, agent_id, MANAGE)
    if not agent.queues.filter(pk=callback.queue_id).exists():
        raise Invalid(gettext("%(agent)s does not work in %(queue)s.") % {"agent": agent, "queue": callback.queue}, field="agent")
    now = timezone.now()
    if callback.state == CallbackState.OFFERED:
        take_back_offer(callback, now, message=f"Offer withdrawn: assigned to {agent} by {person_name(user)}", actor=user)
    callback.owner = agent
    if callback.desired_time is None or callback.desired_time < now:
        callback.desired_time = now  # the owner's grace period runs from now
    callback.reminded_at = None
    callback.save(update_fields=["owner", "desired_time", "reminded_at", "updated_at"])
    record(
        HistoryKind.REASSIGNED, f"Assigned to {agent} by supervisor {person_name(user)}", callback=callback, actor=user, at=now
    )
    push_board_on_commit([callback.queue_id])
    route_on_commit(callback.queue_id, callback.channel)
    return callback


@action
def do_set_priority(*, user: AbstractBaseUser, callback_id: int, priority: int) -> CallbackRequest:
    if not 1 <= priority <= 10:
        raise Invalid(gettext("Priority goes from 1 (low) to 10 (high)."), field="priority")
    callback = supervised_callback(user, callback_id)
    if callback.priority == priority:
        raise DomainError(gettext("Priority is already %(priority)s.") % {"priority": priority}, code="unchanged")
    now = timezone.now()
    before, callback.priority = callback.priority, priority
    callback.save(update_fields=["priority", "updated_at"])
    record(
        HistoryKind.PRIORITY,
        f"Priority {before} → {priority} by supervisor {person_name(user)}",
        callback=callback,
        actor=user,
        at=now,
        before=before,
        priority=priority,
    )
    push_board_on_commit([callback.queue_id])
    route_on_commit(callback.queue_id, callback.channel)
    return callback


@action
def do_pause_callback(*, user: AbstractBaseUser, callback_id: int) -> CallbackRequest:
    """Hold a waiting callback back (GMS's PAUSED): it keeps its place in line and its times, and is offered to
    nobody until resumed; a ringing offer ends."""
    callback = supervised_callback(user, callback_id)
    if callback.paused_at is not None:
        raise DomainError(gettext("Already paused."), code="unchanged")
    now = timezone.now()
    if callback.state == CallbackState.OFFERED:
        take_back_offer(callback, now, message=f"Offer withdrawn: paused by {person_name(user)}", actor=user)
    callback.paused_at = now
    callback.save(update_fields=["paused_at", "updated_at"])
    record(HistoryKind.PAUSED, f"Paused by supervisor {person_name(user)}", callback=callback, actor=user, at=now)
    push_board_on_commit([callback.queue_id])
    return callback


@action
def do_resume_callback(*, user: AbstractBaseUser, callback_id: int) -> CallbackRequest:
    """A paused callback is offered again, in its place in line."""
    callback = supervised_callback(user, callback_id)
    if callback.paused_at is None:
        raise DomainError(gettext("Not paused."), code="unchanged")
    now = timezone.now()
    callback.paused_at = None
    callback.save(update_fields=["paused_at", "updated_at"])
    record(HistoryKind.RESUMED, f"Resumed by supervisor {person_name(user)}", callback=callback, actor=user, at=now)
    push_board_on_commit([callback.queue_id])
    route_on_commit(callback.queue_id, callback.channel)
    return callback


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def bulk(user: AbstractBaseUser, verb: BulkAction, callback_ids: list[int], **params) -> BulkResult:
    """Run one action on each callback, each in its own transaction: what cannot be done is reported with why."""
    if len(callback_ids) > BULK_LIMIT:
        raise Invalid(gettext("Select at most %(count)s callbacks at once.") % {"count": BULK_LIMIT}, field="ids")
    run: Callable[..., CallbackRequest] = {
        BulkAction.RESCHEDULE: do_supervisor_reschedule,
        BulkAction.CANCEL: do_supervisor_cancel,
        BulkAction.REASSIGN_QUEUE: do_reassign_queue,
        BulkAction.REASSIGN_AGENT: do_reassign_agent,
        BulkAction.PRIORITY: do_set_priority,
        BulkAction.PAUSE: do_pause_callback,
        BulkAction.RESUME: do_resume_callback,
    }[verb]
    references = dict(callbacks_for(user, MANAGE).filter(pk__in=callback_ids).values_list("pk", "reference"))
    result = BulkResult()
    for callback_id in callback_ids:
        reference = references.get(callback_id)
        if reference is None:
            result.skipped.append((f"#{callback_id}", "not found in the queues you supervise"))
            continue
        try:
            run(user=user, callback_id=callback_id, **params)
        except DomainError as refused:
            result.skipped.append((reference, refused.message))
        else:
            result.done.append(reference)
    return result


@action
def do_force_status(*, user: AbstractBaseUser, agent_id: int, status: str) -> None:
    """Set an agent of a supervised queue Not Ready ("Set by a supervisor") on every channel they are logged in to,
    or log them out; their ringing offers go to someone else."""
    agent = get_agent_for_supervisor(user, agent_id)
    if status not in (AgentStatus.NOT_READY, AgentStatus.LOGGED_OUT):
        raise Invalid(gettext("Choose Not Ready or Logged Out."), field="status")
    now = timezone.now()
    withdraw_agent_offers(agent, now, message=f"{agent} set {AgentStatus(status).label} by supervisor {person_name(user)}")
    reason = None
    if status == AgentStatus.NOT_READY:
        reason, _ = NotReadyReason.objects.get_or_create(
            system=SystemReason.SUPERVISOR, defaults={"name": SystemReason.SUPERVISOR.label, "order": 98}
        )
    rows = AgentChannelStatus.objects.filter(agent=agent).exclude(status=AgentStatus.LOGGED_OUT)
    for channel in rows.values_list("channel", flat=True):
        change_status(agent, channel, status, reason=reason, actor=user, now=now)
