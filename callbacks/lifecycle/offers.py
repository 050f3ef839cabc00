"""Offers and routing: ringing an agent, Accept, Reject, and returning a callback to its queue.

Owns: `route_queue` / `route_queues_of` / `route_everything` (each offer one
durable transaction: `routing.choose` decides, `make_offer` writes),
`route_on_commit`, the end of an offer (`return_offer`, `withdraw_agent_offers`,
`withdraw_open_offer`) and the agent's Accept and Reject.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from .. import dialplan, routing
from ..background import coalesced
from ..channels import spec
from ..enums import (
    OPEN_CALLBACK_STATES,
    AcceptAction,
    CallbackEvent,
    CallOutcome,
    CallState,
    Channel,
    HistoryKind,
    OfferOutcome,
)
from ..errors import DomainError, Refused
from ..metrics import OFFER_DELIVERY, OFFERS
from ..models import Agent, Call, CallbackRequest, Interaction, Offer, Queue
from ..prepared import Prepared
from ..push import push_board_on_commit, pushes_reach_pages
from .lines import end_call, on_another_call, place_call, take_customer_on_line
from .transitions import action, record, transition

log = logging.getLogger(__name__)

MAX_OFFERS_PER_PASS = 50

OUTCOME_OF = {
    CallbackEvent.REJECT: OfferOutcome.REJECTED,
    CallbackEvent.TIME_OUT: OfferOutcome.TIMED_OUT,
    CallbackEvent.NOT_DELIVERED: OfferOutcome.NOT_DELIVERED,
    CallbackEvent.WITHDRAW: OfferOutcome.WITHDRAWN,
}


def create_offer(
    callback: CallbackRequest, agent: Agent, now: datetime, *, call: Call | None = None, from_agent: Agent | None = None
) -> Offer | None:
    """Write an open offer; None when the callback or the agent was rung a moment ago (the constraints said no)."""
    offer = Offer(
        callback=callback,
        agent=agent,
        channel=callback.channel,
        created_at=now,
        # Until a page acknowledges it: the delivery window, and the grace for an acknowledgement read late.
        deadline=now + timedelta(seconds=settings.RINGBACK_OFFER_DELIVERY_SECONDS + settings.RINGBACK_OFFER_ACK_GRACE_SECONDS),
        call=call,
        from_agent=from_agent,
    )
    try:
        with transaction.atomic():
            offer.save()
    except IntegrityError:
        return None
    return offer


# Set while routing holds offers back because pages have not shown the ones already rung (see routing.pairs).
ROUTING_HELD_KEY = "rb:routing:held"


def make_offer(*, callback: CallbackRequest, agent: Agent, now: datetime) -> Offer | None:
    """Routing chose `agent` for `callback` (both locked by the caller): ring them."""
    offer = create_offer(callback, agent, now)
    if offer is None:
        return None
    transition(
        callback,
        CallbackEvent.OFFER,
        now=now,
        message=f"Offered to {agent}",
        agent=agent,
        notify=[agent.pk],
        offer_entity=offer.pk,
        offer=offer.pk,
    )
    return offer


def drop_transferred_call(offer: Offer, now: datetime) -> None:
    """A transfer nobody took: the customer's line is released; the callback goes back to its queue."""
    if not offer.call_id:
        return
    call = Call.objects.select_for_update().filter(pk=offer.call_id).exclude(state=CallState.ENDED).first()
    if call is None:
        return
    end_call(call, CallOutcome.FAILED, now, hang_up=True)
    record(HistoryKind.TRANSFER, "Transfer not taken: call released, callback back in the queue", callback=offer.callback, at=now)


def _end_offer(offer: Offer, outcome: OfferOutcome, now: datetime) -> None:
    offer.outcome, offer.ended_at = outcome, now
    offer.save(update_fields=["outcome", "ended_at"])
    transaction.on_commit(lambda: OFFERS.labels(outcome=str(outcome)).inc())
    if outcome != OfferOutcome.ACCEPTED:
        drop_transferred_call(offer, now)


def return_offer(
    offer: Offer, event: CallbackEvent, now: datetime, *, message: str, actor: AbstractBaseUser | None = None
) -> None:
    """The offer ends without Accept (reject, time-out, withdrawal): the callback goes back to its queue, its place
    kept, or after Reject or a time-out where its queue sends it (another queue, or a routing point's choice)."""
    _end_offer(offer, OUTCOME_OF[event], now)
    transition(
        offer.callback,
        event,
        now=now,
        message=message,
        agent=offer.agent,
        actor=actor,
        notify=[offer.agent_id],
        offer_entity=offer.pk,
    )
    if event in (CallbackEvent.REJECT, CallbackEvent.TIME_OUT):
        send_on(offer.callback, event, now)
    route_on_commit(offer.callback.queue_id, offer.channel)


def move_to_queue(
    callback: CallbackRequest,
    queue: Queue,
    now: datetime,
    *,
    message: str,
    kind: HistoryKind,
    actor: AbstractBaseUser | None = None,
    **data,
) -> bool:
    """Put a waiting callback (locked, not ringing) in another queue, its place in line kept. False when the customer
    already has an open callback there (one per number and queue)."""
    if queue.pk == callback.queue_id:
        return True
    taken = CallbackRequest.objects.filter(queue=queue, phone_number=callback.phone_number, state__in=OPEN_CALLBACK_STATES)
    if taken.exclude(pk=callback.pk).exists():
        return False
    before = callback.queue
    callback.queue = queue
    callback.save(update_fields=["queue", "updated_at"])
    record(kind, message, callback=callback, actor=actor, at=now, queue=queue.pk, from_queue=before.pk, **data)
    push_board_on_commit([before.pk, queue.pk])
    route_on_commit(queue.pk, callback.channel)
    return True


def send_on(callback: CallbackRequest, event: CallbackEvent, now: datetime) -> None:
    """After Reject or a time-out: the queue's rule for it (Queue.reject_* / timeout_*), if it names another queue."""
    target = routing.queue_after(callback.queue, event, now)
    if target is None or target.pk == callback.queue_id:
        return
    after = "Reject" if event == CallbackEvent.REJECT else "an unanswered offer"
    if not move_to_queue(callback, target, now, message=f"Sent to {target} after {after}", kind=HistoryKind.ROUTED):
        record(
            HistoryKind.ROUTED,
            f"Stays in {callback.queue}: the customer already has an open callback in {target}",
            callback=callback,
            at=now,
        )


def withdraw_agent_offers(agent: Agent, now: datetime, *, message: str, channel: str | None = None) -> int:
    """An agent stepped away (Not Ready, After Call Work, logged out): their ringing offers go to someone else."""
    offers = Offer.objects.select_for_update(of=("self",)).select_related("callback__queue", "agent")
    offers = offers.filter(agent=agent, outcome=OfferOutcome.OPEN)
    if channel:
        offers = offers.filter(channel=channel)
    found = list(offers)
    for offer in found:
        CallbackRequest.objects.select_for_update().filter(pk=offer.callback_id).exists()
        return_offer(offer, CallbackEvent.WITHDRAW, now, message=message)
    return len(found)


def take_back_offer(callback: CallbackRequest, now: datetime, *, message: str, actor: AbstractBaseUser | None = None) -> None:
    """A ringing offer of the callback (locked) ends and the callback is back in line, still in its queue."""
    offer = Offer.objects.select_for_update().select_related("agent").filter(callback=callback, outcome=OfferOutcome.OPEN).first()
    if offer is not None:
        offer.callback = callback
        return_offer(offer, CallbackEvent.WITHDRAW, now, message=message, actor=actor)


def withdraw_open_offer(callback: CallbackRequest, now: datetime) -> list[int]:
    """The callback is leaving the queue (cancelled): a ringing offer ends. Returns the agent it rang, to notify."""
    offer = Offer.objects.select_for_update().filter(callback=callback, outcome=OfferOutcome.OPEN).first()
    if offer is None:
        return []
    _end_offer(offer, OfferOutcome.WITHDRAWN, now)
    return [offer.agent_id]


# Accept and Reject read their offer so, and lock it and its callback in that order (offer, then callback, as
# everywhere) in the same statement.
LOCKED_OFFER = Prepared(
    lambda pk: (
        Offer.objects.select_for_update(of=("self", "callback"))
        .select_related("callback__queue", "agent")
        .filter(pk=pk)
        .order_by()[:1]
    ),
    pk="id",
)


def _locked_offer_for(user: AbstractBaseUser, offer_id: int) -> Offer:
    offer = LOCKED_OFFER.first(pk=offer_id)
    if offer is None:
        raise DomainError(gettext("That offer does not exist."), status=404)
    if offer.agent.user_id != user.pk:
        raise Refused(gettext("This callback was offered to another agent."))
    if offer.outcome != OfferOutcome.OPEN:
        raise DomainError(
            gettext("This callback is no longer offered to you: the offer was %(outcome)s.")
            % {"outcome": gettext(offer.get_outcome_display()).lower()}
        )
    return offer


def dials_on_accept(offer: Offer) -> bool:
    """Accept places the call at once: a callback on a channel that dials (voice; not a transferred call) of a queue
    set to dial at once."""
    return (
        spec(offer.channel).dials
        and not offer.call_id
        and offer.callback.queue.on_accept == AcceptAction.DIAL
        and offer.callback.attempts < offer.callback.max_attempts
    )


@action
def do_accept_offer(*, user: AbstractBaseUser, offer_id: int) -> Interaction:
    """The agent clicked Accept. Refused when the offer is not theirs, already ended, or expired.

    On a queue set to dial at once (`Queue.on_accept`), a voice callback's call is placed in the same transaction
    (unless the agent is on another call: then the window says so and waits for Call)."""
    now = timezone.now()
    offer = _locked_offer_for(user, offer_id)
    if offer.deadline <= now:
        raise DomainError(gettext("Too late: this offer expired and the callback went back to the queue."))
    _end_offer(offer, OfferOutcome.ACCEPTED, now)
    callback = offer.callback
    interaction = Interaction.objects.create(
        callback=callback, agent=offer.agent, offer=offer, channel=offer.channel, created_at=now
    )
    if offer.call_id:
        # An Instant Call Transfer: the live call comes with it.
        Call.objects.filter(pk=offer.call_id).update(interaction=interaction)
    transition(
        callback,
        CallbackEvent.ACCEPT,
        now=now,
        message=f"Accepted by {offer.agent}",
        agent=offer.agent,
        actor=user,
        notify=[offer.agent_id],
        offer_entity=offer.pk,
        interaction_entity=interaction.pk,
    )
    if callback.on_line_since:
        take_customer_on_line(interaction, now, actor=user)  # customer first: they are waiting on Ringback's line
    elif dials_on_accept(offer):
        if on_another_call(interaction):
            interaction.last_outcome = "Not dialled on Accept: you are on another call. Hold or end it, then click Call."
            interaction.save(update_fields=["last_outcome"])
        elif why := dialplan.refusal(offer.callback.queue, offer.callback.phone_number):
            interaction.last_outcome = f"Not dialled on Accept: {why}"
            interaction.save(update_fields=["last_outcome"])
        else:
            place_call(interaction, now, actor=user)
    return interaction


# Every offer's acknowledgement reads it so (compiled once per process).
UNACKNOWLEDGED = Prepared(
    lambda offer_id, agent_id: (
        Offer.objects.select_for_update(of=("self",))
        .select_related("callback__queue")
        .filter(pk=offer_id, agent_id=agent_id, outcome=OfferOutcome.OPEN, delivered_at__isnull=True)
        .order_by()[:1]
    ),
    offer_id="id",
    agent_id="id",
)


@action
def do_acknowledge_offer(*, agent_id: int, offer_id: int, shown_at: datetime | None = None) -> Offer | None:
    """The agent's page showed the notification: the time to answer starts now, or at `shown_at` when the page
    says (signed, see `presenters.offers.shown_at`) when its card was rendered; however late the server reads
    it, the countdown matches the page's. Repeats change nothing."""
    now = timezone.now()
    offer = UNACKNOWLEDGED.first(offer_id=offer_id, agent_id=agent_id)
    if offer is None:
        return None  # someone else's, already acknowledged, or already ended
    at = now if shown_at is None else min(now, max(shown_at, offer.created_at))
    offer.delivered_at = at
    offer.deadline = at + timedelta(seconds=offer.callback.queue.offer_timeout_seconds)
    offer.save(update_fields=["delivered_at", "deadline"])
    shown_after = (at - offer.created_at).total_seconds()
    transaction.on_commit(lambda: OFFER_DELIVERY.observe(shown_after))
    if cache.get(ROUTING_HELD_KEY):  # routing waits for pages to catch up: this one did
        route_on_commit(offer.callback.queue_id, offer.channel)
    # No push: the page that acknowledged starts its own countdown from the queue's time to answer
    # (a render per offer saved); any later render shows the deadline stored here.
    return offer


@action
def do_reject_offer(*, user: AbstractBaseUser, offer_id: int) -> CallbackRequest:
    """The agent clicked Reject: the callback goes back to its queue for another agent."""
    now = timezone.now()
    offer = _locked_offer_for(user, offer_id)
    return_offer(offer, CallbackEvent.REJECT, now, message=f"Rejected by {offer.agent}", actor=user)
    return offer.callback


# --- Routing ----------------------------------------------------------------


@action
def do_offer_next(*, queue_id: int, channel: str) -> Offer | None:
    """Routing: ring the longest idle free agent with the first callback in line, if both exist."""
    now = timezone.now()
    choice = routing.choose(queue_id, channel, now)
    if choice is None:
        return None
    return make_offer(callback=choice.callback, agent=choice.agent, now=now)


@action
def do_route_pass(*, queue_id: int, channel: str) -> tuple[int, bool]:
    """One routing pass in one transaction: every pair it finds rings. Returns (offers made, more may be waiting)."""
    now = timezone.now()
    found = routing.pairs(queue_id, channel, now)
    if found.held:
        cache.set(ROUTING_HELD_KEY, 1, 10)
    made = sum(make_offer(callback=c.callback, agent=c.agent, now=now) is not None for c in found.choices)
    return made, found.more


def route_queue(queue_id: int, channel: str) -> int:
    """Offer waiting callbacks of one queue to its free agents until either runs out."""
    made = 0
    while made < MAX_OFFERS_PER_PASS:
        try:
            offers, more = do_route_pass(queue_id=queue_id, channel=channel)
        except Exception:  # routing is retried by the clock's sweep; a failed pass must not break the caller
            log.exception("routing queue %s/%s failed", queue_id, channel)
            break
        made += offers
        if not more:
            break
    return made


def route_everything() -> int:
    """Safety net for the sweep: every queue/channel that has waiting work."""
    return sum(route_queue(q, c) for q, c in routing.queues_with_waiting_work())


def route_on_commit(queue_id: int, channel: str | Channel) -> None:
    """Route the queue once the current transaction commits (routing reads what it wrote), without making
    the HTTP answer wait for it. Not in a process whose offers would reach no page (`push.pushes_reach_pages`):
    the server's clock routes the queue within a sweep."""
    if not pushes_reach_pages():
        return
    transaction.on_commit(lambda: coalesced(("queue", queue_id, str(channel)), route_queue, queue_id, channel))


def route_queues_of(agent_id: int, channel: str | Channel) -> None:
    """An agent became free: each of their queues is routed, folded with any routing of it already under way."""
    for queue_id in routing.queues_of(agent_id):
        coalesced(("queue", queue_id, str(channel)), route_queue, queue_id, channel)


def route_agent_on_commit(agent_id: int, channel: str | Channel) -> None:
    transaction.on_commit(lambda: coalesced(("agent", agent_id, str(channel)), route_queues_of, agent_id, channel))
