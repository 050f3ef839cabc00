"""The offer's card in the agent's notifications: pushed alone when the offer rings or ends."""

from __future__ import annotations

from ..configuration import preview_fields
from ..enums import OfferOutcome
from ..models import Agent, Offer
from ..selectors import CallbackView, callback_view


def offer_cards(agent: Agent, offer_ids: list[int]) -> list[tuple[Offer, CallbackView]]:
    """The offers among `offer_ids` still ringing at this agent's desk, as their cards show them (one statement; the
    preview fields come from the configuration every process keeps). An offer that ended meanwhile has no card."""
    if not offer_ids:
        return []
    rows = (
        Offer.objects.filter(pk__in=offer_ids, agent_id=agent.pk, outcome=OfferOutcome.OPEN)
        .select_related("callback__queue", "from_agent")
        .order_by("created_at")
    )
    fields = preview_fields()
    return [(offer, callback_view(offer.callback, agent.zone, fields)) for offer in rows]
