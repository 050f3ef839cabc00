"""Every state change of Ringback, one function per thing a person (or the clock) did.

Each action runs in its own durable transaction, locks what it changes, checks
the transition, writes the change and one history row, and schedules its
pushes and follow-up routing with on_commit. A refused action raises
DomainError and changes nothing.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import routing
from ..enums import (
    OPEN_CALLBACK_STATES,
    AgentStatus,
    CallbackState,
    CallbackType,
    CallOutcome,
    CallState,
    Channel,
    HistoryKind,
    InteractionState,
    OfferOutcome,
    Origin,
)
from ..errors import DomainError, Invalid, Refused
from ..models import (
    Agent,
    AgentChannelStatus,
    ApiClient,
    Call,
    CallbackRequest,
    Contact,
    ContactPhone,
    HistoryEvent,
    Interaction,
    NotReadyReason,
    Offer,
    Queue,
)
from ..phone import normalize_phone, validate_timezone
from ..push import Push, push_on_commit
from ..telephony import telephony

MISSED_OFFER_REASON = "Missed offer"


def action(fn):
    """Run the action in a durable transaction: actions never nest."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with transaction.atomic(durable=True):
            return fn(*args, **kwargs)

    return wrapper


def record(
    kind: HistoryKind,
    message: str,
    *,
    callback: CallbackRequest | None = None,
    contact: Contact | None = None,
    agent: Agent | None = None,
    actor: AbstractBaseUser | None = None,
    at: datetime | None = None,
    **data: Any,
) -> HistoryEvent:
    return HistoryEvent.objects.create(
        callback=callback,
        contact_id=callback.contact_id if callback else (contact.pk if contact else None),
        agent=agent,
        actor=actor if actor is not None and actor.is_authenticated else None,
        kind=kind,
        message=message[:500],
        data=data,
        at=at or timezone.now(),
    )


def _route_on_commit(queue_id: int, channel: str) -> None:
    transaction.on_commit(lambda: routing.route_queue(queue_id, channel))


def _agent_for(user: AbstractBaseUser) -> Agent:
    agent = Agent.objects.filter(user_id=user.pk).first() if user.is_authenticated else None
    if agent is None:
        raise Refused("Only agents can do this.")
    return agent


# --- Intake ---------------------------------------------------------------


@dataclass(frozen=True)
class CallbackInput:
    queue: str
    phone_number: str
    type: str = CallbackType.IMMEDIATE
    channel: str = Channel.VOICE
    origin: str = Origin.API
    customer_name: str = ""
    desired_time: datetime | None = None
    customer_timezone: str = "UTC"
    window_start: datetime | None = None
    window_end: datetime | None = None
    instructions: str = ""
    data: dict | None = None
    priority: int = 5
    max_attempts: int | None = None


def _validate(req: CallbackInput, now: datetime) -> tuple[Queue, str, str]:
    # PostgreSQL refuses NUL characters in text: say so before any query sees one.
    for name in ("queue", "type", "channel", "origin", "customer_name", "instructions", "phone_number", "customer_timezone"):
        if "\x00" in str(getattr(req, name) or ""):
            raise Invalid(f"{name} contains a NUL character.", field=name)
    queue = Queue.objects.filter(slug=req.queue, active=True).first()
    if queue is None:
        raise Invalid(f"There is no active queue “{req.queue}”.", field="queue")
    if req.type not in CallbackType.values:
        raise Invalid(f"Unknown callback type “{req.type}”; use one of {', '.join(CallbackType.values)}.", field="type")
    if req.channel not in Channel.values:
        raise Invalid(f"Unknown channel “{req.channel}”; use one of {', '.join(Channel.values)}.", field="channel")
    if req.origin not in Origin.values:
        raise Invalid(f"Unknown origin “{req.origin}”; use one of {', '.join(Origin.values)}.", field="origin")
    phone = normalize_phone(req.phone_number)
    zone = validate_timezone(req.customer_timezone or "UTC")
    for name in ("desired_time", "window_start", "window_end"):
        value = getattr(req, name)
        if value is None:
            continue
        if timezone.is_naive(value):
            raise Invalid(f"{name} needs a time zone offset, e.g. 2026-12-01T14:30:00+01:00.", field=name)
        try:
            too_early, too_late = value < now - timedelta(days=366), value > now + timedelta(days=366)
        except OverflowError:
            too_early, too_late = value.year < now.year, value.year > now.year
        if too_early:
            raise Invalid(f"{name} is in the past.", field=name)
        if too_late:
            raise Invalid(f"{name} is more than a year ahead.", field=name)
    if req.data is not None:
        try:
            encoded = json.dumps(req.data, allow_nan=False)
        except (TypeError, ValueError):
            raise Invalid("data must be plain JSON (no NaN or Infinity).", field="data") from None
        if "\\u0000" in encoded or len(encoded) > 20000:
            raise Invalid("data is too large or contains NUL characters.", field="data")
    if req.type == CallbackType.SCHEDULED and req.desired_time is None:
        raise Invalid("A scheduled callback needs a desired_time.", field="desired_time")
    if req.desired_time is not None and req.type == CallbackType.SCHEDULED and req.desired_time < now - timedelta(minutes=1):
        raise Invalid("desired_time is in the past.", field="desired_time")
    if req.window_start and req.window_end and req.window_end <= req.window_start:
        raise Invalid("The availability window must end after it starts.", field="window_end")
    if req.desired_time and req.window_start and req.window_end:
        if not (req.window_start <= req.desired_time <= req.window_end):
            raise Invalid("desired_time must fall inside the availability window.", field="desired_time")
    if not 1 <= int(req.priority) <= 10:
        raise Invalid("priority must be between 1 and 10.", field="priority")
    if req.max_attempts is not None and not 1 <= int(req.max_attempts) <= 20:
        raise Invalid("max_attempts must be between 1 and 20.", field="max_attempts")
    if req.data is not None and not isinstance(req.data, dict):
        raise Invalid("data must be an object of key/value pairs.", field="data")
    return queue, phone, zone


def _contact_for(phone: str, customer_name: str, zone: str) -> Contact:
    existing = ContactPhone.objects.select_related("contact").filter(number=phone).order_by("id").first()
    if existing:
        return existing.contact
    first, _, last = customer_name.strip().partition(" ")
    contact = Contact.objects.create(first_name=first[:100], last_name=last[:100], timezone=zone)
    ContactPhone.objects.create(contact=contact, number=phone, label="mobile")
    return contact


@action
def do_create_callback(
    *, request: CallbackInput, actor: AbstractBaseUser | None = None, api_client: ApiClient | None = None
) -> tuple[CallbackRequest, bool]:
    """A customer asked to be called back. Returns (callback, created).

    Refused when the input is invalid. A request for a number that already
    has an open callback in the same queue returns that callback instead.
    """
    now = timezone.now()
    queue, phone, zone = _validate(request, now)
    existing = CallbackRequest.objects.filter(queue=queue, phone_number=phone, state__in=OPEN_CALLBACK_STATES).first()
    if existing:
        record(HistoryKind.DUPLICATE, f"Duplicate request from {request.origin} merged", callback=existing, actor=actor)
        return existing, False
    routable_now = request.type in (CallbackType.IMMEDIATE, CallbackType.DELAYED) or (
        request.desired_time is None or request.desired_time <= now
    )
    callback = CallbackRequest(
        channel=request.channel,
        type=request.type,
        origin=request.origin,
        state=CallbackState.QUEUED if routable_now else CallbackState.SCHEDULED,
        queue=queue,
        contact=_contact_for(phone, request.customer_name, zone),
        api_client=api_client,
        customer_name=request.customer_name.strip()[:200],
        phone_number=phone,
        desired_time=request.desired_time or (now if routable_now else None),
        customer_timezone=zone,
        window_start=request.window_start,
        window_end=request.window_end,
        instructions=request.instructions.strip(),
        data=request.data or {},
        priority=int(request.priority),
        type_rank=0 if request.type == CallbackType.IMMEDIATE else 1,
        max_attempts=int(request.max_attempts or queue.default_max_attempts),
        enqueued_at=now if routable_now else None,
    )
    try:
        with transaction.atomic():
            callback.save()
    except IntegrityError:
        # Another request for the same number won the race: merge into it.
        existing = CallbackRequest.objects.filter(queue=queue, phone_number=phone, state__in=OPEN_CALLBACK_STATES).first()
        if existing is None:
            raise
        record(HistoryKind.DUPLICATE, f"Duplicate request from {request.origin} merged", callback=existing, actor=actor)
        return existing, False
    record(
        HistoryKind.CREATED,
        f"{callback.get_type_display()} {'web callback' if callback.channel == Channel.WEB_CALLBACK else 'callback'} requested via {callback.get_origin_display()}",
        callback=callback,
        actor=actor,
        state=callback.state,
    )
    push_on_commit(Push.CALLBACK_CHANGED, queue_ids=[queue.pk], reference=callback.reference)
    if routable_now:
        _route_on_commit(queue.pk, callback.channel)
    return callback, True


@action
def do_cancel_callback(*, reference: str, actor: AbstractBaseUser | None = None, reason: str = "") -> CallbackRequest:
    """The customer (or an integration) cancelled. Refused once the callback is closed or being worked."""
    # Lock in the order accept uses (offer, then callback), so the two never deadlock.
    list(Offer.objects.select_for_update(of=("self",)).filter(callback__reference=reference, outcome=OfferOutcome.OPEN))
    callback = CallbackRequest.objects.select_for_update().filter(reference=reference).first()
    if callback is None:
        raise DomainError(f"No callback {reference}.", status=404)
    if callback.state == CallbackState.IN_PROGRESS:
        raise DomainError("An agent is working on this callback; it can no longer be cancelled.")
    if not callback.is_open:
        raise DomainError(f"This callback is already {callback.get_state_display().lower()}.")
    now = timezone.now()
    _withdraw_open_offer(callback, now)
    callback.state = CallbackState.CANCELLED
    callback.closed_at = now
    callback.outcome = reason[:200] or "Cancelled"
    callback.save(update_fields=["state", "closed_at", "outcome", "updated_at"])
    record(HistoryKind.CANCELLED, reason or "Cancelled", callback=callback, actor=actor, at=now)
    push_on_commit(Push.CALLBACK_CHANGED, queue_ids=[callback.queue_id], reference=callback.reference)
    return callback


# --- Clock ----------------------------------------------------------------


@action
def do_enqueue_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """The clock reached scheduled callbacks' desired time: they join their queue."""
    now = now or timezone.now()
    due = list(
        CallbackRequest.objects.select_for_update(skip_locked=True)
        .filter(state=CallbackState.SCHEDULED, desired_time__lte=now)
        .order_by("desired_time")[:limit]
    )
    for callback in due:
        callback.state = CallbackState.QUEUED
        callback.enqueued_at = callback.enqueued_at or now
        callback.save(update_fields=["state", "enqueued_at", "updated_at"])
        record(HistoryKind.DUE, "Desired time reached; waiting for an agent", callback=callback, at=now)
    for queue_id, channel in {(c.queue_id, c.channel) for c in due}:
        push_on_commit(Push.CALLBACK_CHANGED, queue_ids=[queue_id])
        _route_on_commit(queue_id, channel)
    return len(due)


@action
def do_expire_offers(*, now: datetime | None = None, limit: int = 200) -> int:
    """Agents did not answer in time (or the system was down): their offers time out.

    The callback returns to its queue with its place kept; the agent goes Not
    Ready ("Missed offer") so the next callback does not ring an empty desk.
    """
    now = now or timezone.now()
    offers = list(
        Offer.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("callback", "agent")
        .filter(outcome=OfferOutcome.OPEN, deadline__lte=now)
        .order_by("deadline")[:limit]
    )
    if not offers:
        return 0
    reason, _ = NotReadyReason.objects.get_or_create(name=MISSED_OFFER_REASON, defaults={"order": 99})
    for offer in offers:
        _end_offer(offer, OfferOutcome.TIMED_OUT, now)
        _drop_transferred_call(offer, now)
        _return_to_queue(offer.callback)
        record(
            HistoryKind.TIMED_OUT,
            f"{offer.agent} did not answer within {int((offer.deadline - offer.created_at).total_seconds())} s",
            callback=offer.callback,
            agent=offer.agent,
            at=now,
        )
        current = (
            AgentChannelStatus.objects.filter(agent=offer.agent, channel=offer.channel).values_list("status", flat=True).first()
        )
        if current == AgentStatus.READY:  # never overwrite a status the agent chose
            _set_status(offer.agent, offer.channel, AgentStatus.NOT_READY, reason=reason, actor=None, now=now)
        push_on_commit(Push.OFFER_ENDED, agent_ids=[offer.agent_id], queue_ids=[offer.callback.queue_id])
        _route_on_commit(offer.callback.queue_id, offer.channel)
    return len(offers)


# --- Offers ---------------------------------------------------------------


def offer_callback(*, callback: CallbackRequest, agent: Agent, now: datetime) -> Offer | None:
    """Routing chose `agent` for `callback` (both locked by the caller): ring them."""
    offer = Offer(
        callback=callback,
        agent=agent,
        channel=callback.channel,
        created_at=now,
        deadline=now + timedelta(seconds=callback.queue.offer_timeout_seconds),
    )
    try:
        with transaction.atomic():
            offer.save()
    except IntegrityError:
        return None  # someone else offered it, or the agent was just rung
    callback.state = CallbackState.OFFERED
    callback.save(update_fields=["state", "updated_at"])
    record(HistoryKind.OFFERED, f"Offered to {agent}", callback=callback, agent=agent, at=now, offer=offer.pk)
    push_on_commit(Push.OFFER_NEW, agent_ids=[agent.pk], queue_ids=[callback.queue_id], offer=offer.pk)
    return offer


def _locked_offer_for(user: AbstractBaseUser, offer_id: int) -> Offer:
    offer = Offer.objects.select_for_update(of=("self",)).select_related("callback__queue", "agent").filter(pk=offer_id).first()
    if offer is None:
        raise DomainError("That offer does not exist.", status=404)
    if offer.agent.user_id != user.pk:
        raise Refused("This callback was offered to another agent.")
    if offer.outcome != OfferOutcome.OPEN:
        raise DomainError(f"This callback is no longer offered to you: the offer was {offer.get_outcome_display().lower()}.")
    # Lock the callback too, in the same order everywhere: offer, then callback.
    CallbackRequest.objects.select_for_update().filter(pk=offer.callback_id).exists()
    return offer


def _end_offer(offer: Offer, outcome: OfferOutcome, now: datetime) -> None:
    offer.outcome = outcome
    offer.ended_at = now
    offer.save(update_fields=["outcome", "ended_at"])


def _drop_transferred_call(offer: Offer, now: datetime) -> None:
    """A transfer nobody took: the customer's line is released; the callback goes back to its queue."""
    if not offer.call_id:
        return
    call = Call.objects.select_for_update().filter(pk=offer.call_id).exclude(state=CallState.ENDED).first()
    if call is None:
        return
    call.state, call.outcome, call.ended_at = CallState.ENDED, CallOutcome.FAILED, now
    call.save(update_fields=["state", "outcome", "ended_at"])
    record(HistoryKind.TRANSFER, "Transfer not taken: call released, callback back in the queue", callback=offer.callback, at=now)
    ref = call.switch_ref
    transaction.on_commit(lambda: telephony().hang_up(call_ref=ref))


def _return_to_queue(callback: CallbackRequest) -> None:
    callback.state = CallbackState.QUEUED
    callback.save(update_fields=["state", "updated_at"])


def _withdraw_open_offer(callback: CallbackRequest, now: datetime) -> None:
    offer = Offer.objects.select_for_update().filter(callback=callback, outcome=OfferOutcome.OPEN).first()
    if offer:
        _end_offer(offer, OfferOutcome.WITHDRAWN, now)
        _drop_transferred_call(offer, now)
        record(HistoryKind.WITHDRAWN, f"Offer to agent #{offer.agent_id} withdrawn", callback=callback, at=now)
        push_on_commit(Push.OFFER_ENDED, agent_ids=[offer.agent_id])


@action
def do_accept_offer(*, user: AbstractBaseUser, offer_id: int) -> Interaction:
    """The agent clicked Accept. Refused when the offer is not theirs, already ended, or expired."""
    now = timezone.now()
    offer = _locked_offer_for(user, offer_id)
    if offer.deadline <= now:
        raise DomainError("Too late: this offer expired and the callback went back to the queue.")
    _end_offer(offer, OfferOutcome.ACCEPTED, now)
    callback = offer.callback
    callback.state = CallbackState.IN_PROGRESS
    callback.save(update_fields=["state", "updated_at"])
    interaction = Interaction.objects.create(
        callback=callback, agent=offer.agent, offer=offer, channel=offer.channel, created_at=now
    )
    if offer.call_id:
        # An Instant Call Transfer: the live call comes with it.
        Call.objects.filter(pk=offer.call_id).update(interaction=interaction)
    record(HistoryKind.ACCEPTED, f"Accepted by {offer.agent}", callback=callback, agent=offer.agent, actor=user, at=now)
    push_on_commit(Push.INTERACTION_CHANGED, agent_ids=[offer.agent_id], queue_ids=[callback.queue_id])
    return interaction


@action
def do_reject_offer(*, user: AbstractBaseUser, offer_id: int) -> CallbackRequest:
    """The agent clicked Reject: the callback goes back to its queue for another agent."""
    now = timezone.now()
    offer = _locked_offer_for(user, offer_id)
    _end_offer(offer, OfferOutcome.REJECTED, now)
    _drop_transferred_call(offer, now)
    _return_to_queue(offer.callback)
    record(HistoryKind.REJECTED, f"Rejected by {offer.agent}", callback=offer.callback, agent=offer.agent, actor=user, at=now)
    push_on_commit(Push.OFFER_ENDED, agent_ids=[offer.agent_id], queue_ids=[offer.callback.queue_id])
    _route_on_commit(offer.callback.queue_id, offer.channel)
    return offer.callback


# --- Interactions -----------------------------------------------------------


def locked_interaction_for(user: AbstractBaseUser, interaction_id: int) -> Interaction:
    interaction = (
        Interaction.objects.select_for_update(of=("self",))
        .select_related("callback__queue", "agent")
        .filter(pk=interaction_id)
        .first()
    )
    if interaction is None:
        raise DomainError("That interaction does not exist.", status=404)
    if interaction.agent.user_id != user.pk:
        raise Refused("This interaction belongs to another agent.")
    if interaction.state != InteractionState.OPEN:
        raise DomainError("This interaction is already done.")
    return interaction


# --- Agent status -----------------------------------------------------------


def _set_status(
    agent: Agent,
    channel: str,
    status: str,
    *,
    reason: NotReadyReason | None,
    actor: AbstractBaseUser | None,
    now: datetime,
    until: datetime | None = None,
) -> AgentChannelStatus:
    row, _ = AgentChannelStatus.objects.select_for_update().get_or_create(agent=agent, channel=channel, defaults={"since": now})
    if row.status == status and row.reason_id == (reason.pk if reason else None) and row.until == until:
        return row
    row.status = status
    row.reason = reason if status == AgentStatus.NOT_READY else None
    row.since = now
    # After Call Work with an admin-set timer ends by itself at `until` (see do_end_after_call_work).
    row.until = until if status == AgentStatus.AFTER_CALL_WORK else None
    row.save()
    label = AgentStatus(status).label + (f" ({reason.name})" if row.reason else "")
    record(
        HistoryKind.STATUS, f"{Channel(channel).label}: {label}", agent=agent, actor=actor, at=now, channel=channel, status=status
    )
    push_on_commit(Push.STATUS_CHANGED, agent_ids=[agent.pk], channel=channel, status=status)
    if status == AgentStatus.READY:
        agent_id = agent.pk
        transaction.on_commit(lambda: routing.route_agent(agent_id, channel))
    return row


SETTABLE_STATUSES = (AgentStatus.READY, AgentStatus.NOT_READY, AgentStatus.AFTER_CALL_WORK)


@action
def do_set_status(*, user: AbstractBaseUser, channel: str, status: str, reason_id: int | None = None) -> AgentChannelStatus:
    """The agent changed their status on one channel (Ready, Not Ready with a reason, After Call Work)."""
    agent = _agent_for(user)
    if channel not in agent.enabled_channels():
        raise Invalid("That channel is not enabled for you.", field="channel")
    if status not in SETTABLE_STATUSES:
        raise Invalid("Choose Ready, Not Ready or After Call Work.", field="status")
    reason = None
    now = timezone.now()
    if status != AgentStatus.READY:
        # An agent who steps away hands a ringing callback to someone else at once.
        for offer in (
            Offer.objects.select_for_update(of=("self",))
            .select_related("callback")
            .filter(agent=agent, channel=channel, outcome=OfferOutcome.OPEN)
        ):
            _end_offer(offer, OfferOutcome.WITHDRAWN, now)
            _drop_transferred_call(offer, now)
            _return_to_queue(offer.callback)
            record(
                HistoryKind.WITHDRAWN, f"{agent} went {AgentStatus(status).label}", callback=offer.callback, agent=agent, at=now
            )
            push_on_commit(Push.OFFER_ENDED, agent_ids=[agent.pk])
            _route_on_commit(offer.callback.queue_id, channel)
    if status == AgentStatus.NOT_READY and reason_id:
        reason = NotReadyReason.objects.filter(pk=reason_id, active=True).first()
        if reason is None:
            raise Invalid("That Not Ready reason is not available.", field="reason")
    return _set_status(agent, channel, status, reason=reason, actor=user, now=now)


@action
def do_log_in(*, user: AbstractBaseUser) -> None:
    """The agent logged in: logged-out channels become Not Ready, never Ready by surprise."""
    agent = Agent.objects.filter(user_id=user.pk).first()
    if agent is None:
        return
    now = timezone.now()
    for channel in agent.enabled_channels():
        row = AgentChannelStatus.objects.filter(agent=agent, channel=channel).first()
        if row is None or row.status == AgentStatus.LOGGED_OUT:
            _set_status(agent, channel, AgentStatus.NOT_READY, reason=None, actor=user, now=now)


@action
def do_log_out(*, user: AbstractBaseUser) -> None:
    """The agent logged out: every channel is Logged Out and ringing offers go to someone else."""
    agent = Agent.objects.filter(user_id=user.pk).first()
    if agent is None:
        return
    now = timezone.now()
    for offer in (
        Offer.objects.select_for_update(of=("self",)).select_related("callback").filter(agent=agent, outcome=OfferOutcome.OPEN)
    ):
        _end_offer(offer, OfferOutcome.WITHDRAWN, now)
        _drop_transferred_call(offer, now)
        _return_to_queue(offer.callback)
        record(HistoryKind.WITHDRAWN, f"{agent} logged out", callback=offer.callback, agent=agent, at=now)
        push_on_commit(Push.OFFER_ENDED, agent_ids=[agent.pk])
        _route_on_commit(offer.callback.queue_id, offer.channel)
    for channel in Channel.values:
        _set_status(agent, channel, AgentStatus.LOGGED_OUT, reason=None, actor=user, now=now)
