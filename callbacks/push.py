"""The one way Ringback pushes to browsers: events after commit, to small groups.

The channel layer is only a doorbell. A push names what changed; the consumer
re-reads the truth from the database and sends rendered partials, so a lost
message costs freshness, never correctness.
"""

import logging
from collections.abc import Iterable
from enum import StrEnum

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


class Push(StrEnum):
    OFFER_NEW = "offer.new"
    OFFER_ENDED = "offer.ended"
    STATUS_CHANGED = "status.changed"
    INTERACTION_CHANGED = "interaction.changed"
    CALLBACK_CHANGED = "callback.changed"


# Which regions of the agent workspace each event re-renders.
REGIONS: dict[Push, tuple[str, ...]] = {
    Push.OFFER_NEW: ("notifications",),
    Push.OFFER_ENDED: ("notifications",),
    # The notifications region says "Set yourself Ready …" when no channel is Ready.
    Push.STATUS_CHANGED: ("status", "notifications"),
    Push.INTERACTION_CHANGED: ("notifications", "interaction"),
    Push.CALLBACK_CHANGED: (),
}

MESSAGE_TYPE = "ringback.event"


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def queue_group(queue_id: int) -> str:
    return f"queue.{queue_id}"


def push_on_commit(event: Push, *, agent_ids: Iterable[int] = (), queue_ids: Iterable[int] = (), **data) -> None:
    """Send `event` to the agents' and queues' groups once the transaction commits."""
    groups = [agent_group(a) for a in agent_ids] + [queue_group(q) for q in queue_ids]
    message = {"type": MESSAGE_TYPE, "event": event.value, "data": data}
    transaction.on_commit(lambda: _send(groups, message))


def _send(groups: list[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # a lost doorbell is survivable; a 500 after commit is not
            log.exception("push to %s failed", group)
