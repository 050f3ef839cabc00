"""Reconciliation: find callbacks whose state disagrees with their offers, interactions and calls, and repair them.

Owns: `inconsistent_callbacks` (the checks, as queries) and `do_reconcile_callback` (one callback, locked, checked
again and repaired in its own transaction, every repair recorded in its history). Nothing in normal operation
leaves such a callback; this is the net under crashes, manual database edits and bugs (`manage.py reconcile`).

The rules, for a callback:
- offered, but no offer rings: back in line (withdraw);
- an offer rings, but the callback is not offered: the offer ends (withdrawn);
- in progress, but no interaction is open: back in line;
- an interaction is open, but the callback is not in progress: the interaction closes ("Closed by reconciliation");
- a call is still up, but its interaction is closed: the call ends and the line is released.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..enums import (
    ACTIVE_CALL_STATES,
    CallbackEvent,
    CallbackState,
    CallOutcome,
    ClosingReason,
    HistoryKind,
    InteractionState,
    OfferOutcome,
)
from ..models import Call, CallbackRequest, Interaction, Offer
from .lines import end_call
from .offers import route_on_commit, withdraw_open_offer
from .transitions import action, record, transition
from .wrapup import close_interaction


def _open_offer(callback_ref=None):
    return Offer.objects.filter(callback=callback_ref if callback_ref is not None else OuterRef("pk"), outcome=OfferOutcome.OPEN)


def _open_interaction(callback_ref=None):
    ref = callback_ref if callback_ref is not None else OuterRef("pk")
    return Interaction.objects.filter(callback=ref, state=InteractionState.OPEN)


def inconsistent_callbacks() -> list[int]:
    """Ids of every callback one of the rules applies to (five indexed reads)."""
    S = CallbackState
    ids: set[int] = set()
    ids |= set(CallbackRequest.objects.filter(state=S.OFFERED).exclude(Exists(_open_offer())).values_list("pk", flat=True))
    ids |= set(
        Offer.objects.filter(outcome=OfferOutcome.OPEN).exclude(callback__state=S.OFFERED).values_list("callback_id", flat=True)
    )
    ids |= set(
        CallbackRequest.objects.filter(state=S.IN_PROGRESS).exclude(Exists(_open_interaction())).values_list("pk", flat=True)
    )
    ids |= set(
        Interaction.objects.filter(state=InteractionState.OPEN)
        .exclude(callback__state=S.IN_PROGRESS)
        .values_list("callback_id", flat=True)
    )
    ids |= set(
        Call.objects.filter(state__in=ACTIVE_CALL_STATES)
        .exclude(interaction__state=InteractionState.OPEN)
        .values_list("callback_id", flat=True)
    )
    return sorted(ids)


@action
def do_reconcile_callback(*, callback_id: int, dry_run: bool = False) -> list[str]:
    """Repair one callback (locked: its ringing offer first, then the callback, the order Accept uses). Returns what
    was (or, with `dry_run`, would be) repaired; nothing when it is consistent by now."""
    list(Offer.objects.select_for_update(of=("self",)).filter(callback_id=callback_id, outcome=OfferOutcome.OPEN))
    callback = CallbackRequest.objects.select_for_update().select_related("queue").filter(pk=callback_id).first()
    if callback is None:
        return []
    now = timezone.now()
    repairs: list[str] = []
    S = CallbackState
    offer = _open_offer(callback).select_related("agent").first()
    interactions = list(_open_interaction(callback).select_related("agent", "callback__queue"))
    calls = list(
        Call.objects.select_for_update().filter(callback=callback, state__in=ACTIVE_CALL_STATES).select_related("interaction")
    )

    if offer is not None and callback.state != S.OFFERED:
        repairs.append(
            f"an offer to {offer.agent} was still ringing while the callback was {callback.get_state_display().lower()}: ended"
        )
        if not dry_run:
            withdraw_open_offer(callback, now)
    closing = [i for i in interactions if callback.state != S.IN_PROGRESS]
    for interaction in closing:
        repairs.append(
            f"{interaction.agent}'s interaction was open while the callback was {callback.get_state_display().lower()}: closed"
        )
        if not dry_run:
            interaction.callback = callback
            close_interaction(interaction, reason=ClosingReason.RECONCILED, now=now)
    closed = {i.pk for i in closing}
    for call in calls:
        if call.interaction.state != InteractionState.OPEN or call.interaction_id in closed:
            repairs.append("a call was still up after its interaction closed: ended, line released")
            if not dry_run:
                end_call(call, CallOutcome.FAILED, now, hang_up=True)
    if callback.state == S.OFFERED and offer is None:
        repairs.append("the callback was offered but no offer rang: back in line")
        if not dry_run:
            transition(callback, CallbackEvent.WITHDRAW, now=now, message="Reconciliation: no offer was ringing; back in line")
            route_on_commit(callback.queue_id, callback.channel)
    if callback.state == S.IN_PROGRESS and not interactions:
        repairs.append("the callback was in progress but no interaction was open: back in line")
        if not dry_run:
            transition(
                callback,
                CallbackEvent.TRANSFER_TO_QUEUE,
                now=now,
                message="Reconciliation: no interaction was open; back in line",
            )
            route_on_commit(callback.queue_id, callback.channel)
    if repairs and not dry_run:
        record(HistoryKind.RECONCILED, "Reconciliation: " + "; ".join(repairs), callback=callback, at=now, repairs=repairs)
    return repairs
