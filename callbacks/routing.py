"""Who gets which callback: the choice is made here, the write in lifecycle.

Routing runs on events (a callback queued, an agent Ready, an offer ended),
called after the commit of the action that caused it, and from the periodic
sweep as a safety net. Rows are taken with SKIP LOCKED so any number of web
processes and dispatchers can route at once without waiting on each other;
the partial unique constraints on offers are the last line of defence.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .enums import AgentStatus, CallbackState, InteractionState, OfferOutcome

log = logging.getLogger(__name__)

MAX_OFFERS_PER_PASS = 50


def free_agents(queue_id: int, channel: str, *, lock: bool = True):
    """Ready agents of the queue on the channel with nothing ringing and no open interaction, longest idle first."""
    from .models import AgentChannelStatus, Interaction, Offer

    ringing = Offer.objects.filter(agent=OuterRef("agent_id"), channel=channel, outcome=OfferOutcome.OPEN)
    busy = Interaction.objects.filter(agent=OuterRef("agent_id"), channel=channel, state=InteractionState.OPEN)
    rows = (
        AgentChannelStatus.objects.filter(channel=channel, status=AgentStatus.READY, agent__queues=queue_id)
        .filter(~Exists(ringing), ~Exists(busy))
        .select_related("agent")
        .order_by("since", "id")
    )
    if lock:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    return rows


def waiting_callbacks(queue_id: int, channel: str, *, lock: bool = True):
    """Queued callbacks in routing order: priority, then immediate first, then longest waiting."""
    from .models import CallbackRequest

    rows = (
        CallbackRequest.objects.filter(queue_id=queue_id, channel=channel, state=CallbackState.QUEUED)
        .select_related("queue")
        .order_by("-priority", "type_rank", "enqueued_at", "id")
    )
    if lock:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    return rows


def _offer_next(queue_id: int, channel: str):
    from . import lifecycle
    from .models import AgentChannelStatus, Offer

    with transaction.atomic(durable=True):
        agents = list(free_agents(queue_id, channel)[:20])
        if not agents:
            return None
        callbacks = list(waiting_callbacks(queue_id, channel)[:10])
        if not callbacks:
            return None
        rejected_by: dict[int, set[int]] = {}
        for cb_id, agent_id in Offer.objects.filter(callback__in=callbacks, outcome=OfferOutcome.REJECTED).values_list(
            "callback_id", "agent_id"
        ):
            rejected_by.setdefault(cb_id, set()).add(agent_id)
        now = timezone.now()
        for callback in callbacks:
            if callback.owner_id and now < (callback.desired_time or now) + timedelta(
                minutes=callback.queue.personal_grace_minutes
            ):
                # A personal callback waits for its owner during the grace period.
                choice = next((a for a in agents if a.agent_id == callback.owner_id), None)
                if choice is None:
                    continue
                return lifecycle.offer_callback(callback=callback, agent=choice.agent, now=now)
            rejecters = rejected_by.get(callback.pk, set())
            choice = next((a for a in agents if a.agent_id not in rejecters), None)
            if choice is None:
                # Everyone free rejected it. Ring one of them again only if no
                # other Ready agent exists who might take it once free.
                others_ready = (
                    AgentChannelStatus.objects.filter(channel=channel, status=AgentStatus.READY, agent__queues=queue_id)
                    .exclude(agent_id__in=rejecters)
                    .exists()
                )
                if others_ready:
                    continue
                choice = agents[0]
            return lifecycle.offer_callback(callback=callback, agent=choice.agent, now=now)
        return None


def route_queue(queue_id: int, channel: str) -> int:
    """Offer waiting callbacks of one queue to its free agents until either runs out."""
    made = 0
    for _ in range(MAX_OFFERS_PER_PASS):
        try:
            offer = _offer_next(queue_id, channel)
        except Exception:
            log.exception("routing queue %s/%s failed", queue_id, channel)
            break
        if offer is None:
            break
        made += 1
    return made


def route_agent(agent_id: int, channel: str) -> int:
    """An agent became free: look at each of their queues."""
    from .models import Agent

    queue_ids = list(Agent.queues.through.objects.filter(agent_id=agent_id).values_list("queue_id", flat=True))
    return sum(route_queue(q, channel) for q in queue_ids)


def route_everything() -> int:
    """Safety net for the sweep: every queue/channel that has waiting work."""
    from .models import CallbackRequest

    pairs = CallbackRequest.objects.filter(state=CallbackState.QUEUED).values_list("queue_id", "channel").distinct().order_by()
    return sum(route_queue(q, c) for q, c in list(pairs))
