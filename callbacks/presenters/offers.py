"""The offer's card in the agent's notifications: pushed alone when the offer rings or ends."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.core import signing

from ..configuration import preview_fields
from ..enums import OfferOutcome
from ..models import Agent, Offer
from ..prepared import Prepared
from .fields import CallbackView, callback_view

CARDS = Prepared(
    lambda agent_id, ids: (
        Offer.objects.filter(pk__in=ids, agent_id=agent_id, outcome=OfferOutcome.OPEN)
        .select_related("callback__queue", "from_agent")
        .order_by("created_at")
    ),
    agent_id="id",
    ids="ids",
)


def offer_cards(agent: Agent, offer_ids: list[int]) -> list[tuple[Offer, CallbackView]]:
    """The offers among `offer_ids` still ringing at this agent's desk, as their cards show them (one statement,
    compiled once per process; the preview fields come from the configuration every process keeps). An offer that
    ended meanwhile has no card."""
    if not offer_ids:
        return []
    rows = CARDS.run(agent_id=agent.pk, ids=list(offer_ids))
    fields = preview_fields()
    return [(offer, callback_view(offer.callback, agent.zone, fields)) for offer in rows]


# The acknowledgement's proof of when the card was rendered for the page: "<offer id>:<ms since the epoch>", signed.
# A page cannot claim another time or another offer's; a server that reads the acknowledgement late (saturated, a
# backlog of messages) still starts the answer's countdown when the page did.
_SHOWN = signing.Signer(salt="ringback.offer-shown")


def shown_stamp(offer_id: int) -> str:
    """Signed into the card's acknowledgement form when the card is rendered."""
    return _SHOWN.sign(f"{offer_id}:{int(time.time() * 1000)}")


def shown_at(offer_id: int, stamp: object) -> datetime | None:
    """When the card of `offer_id` was rendered, from the stamp its page sent back; None for anything else."""
    try:
        value = _SHOWN.unsign(str(stamp))
        stamped_id, ms = value.split(":")
        if int(stamped_id) != offer_id:
            return None
        return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)
    except (signing.BadSignature, ValueError, OverflowError, OSError):
        return None
