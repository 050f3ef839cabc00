"""Reads: everything a page or a push needs, with its queries chosen once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils import formats, timezone

from .enums import AgentStatus, Channel, FieldFormat, InteractionState, OfferOutcome, PreviewSection
from .errors import DomainError, Refused
from .models import Agent, AgentChannelStatus, CallbackRequest, Interaction, NotReadyReason, Offer, PreviewField
from .phone import display_phone

HISTORY_LIMIT = 50


def agent_for_user(user) -> Agent | None:
    if not user.is_authenticated:
        return None
    return Agent.objects.filter(user_id=user.pk).first()


def access_offer_for_agent(user, offer_id: int) -> Offer:
    offer = Offer.objects.select_related("agent").filter(pk=offer_id).first()
    if offer is None:
        raise DomainError("That offer does not exist.", status=404)
    if offer.agent.user_id != user.pk:
        raise Refused("This callback was offered to another agent.")
    return offer


def format_value(value: Any, fmt: str, zone) -> str:
    if value is None or value == "":
        return "—"
    try:
        if fmt == FieldFormat.YES_NO:
            return "Yes" if str(value).lower() in {"1", "true", "yes", "y"} else "No"
        if fmt == FieldFormat.MONEY:
            return f"{Decimal(str(value)):,.2f}"
        if fmt == FieldFormat.DATE:
            return formats.date_format(date.fromisoformat(str(value)), "j M Y")
        if fmt == FieldFormat.DATETIME:
            moment = datetime.fromisoformat(str(value))
            if timezone.is_aware(moment):
                moment = moment.astimezone(zone)
            return formats.date_format(moment, "D j M Y, H:i")
    except (ValueError, InvalidOperation):
        pass  # show what the customer gave rather than nothing
    return str(value)


@dataclass
class Row:
    label: str
    value: str


@dataclass
class CallbackView:
    """A callback as the agent sees it: times in both zones, configured fields."""

    callback: CallbackRequest
    agent_zone: Any
    fields: dict[str, list[Row]] = field(default_factory=dict)

    @property
    def phone(self) -> str:
        return display_phone(self.callback.phone_number)

    @property
    def attached(self) -> list[Row]:
        return [Row(str(k).replace("_", " ").capitalize(), str(v)) for k, v in sorted(self.callback.data.items())]


def _fields_for(callback: CallbackRequest, configured: list[PreviewField], zone) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {s.value: [] for s in PreviewSection}
    for f in configured:
        if f.queue_id not in (None, callback.queue_id) or f.channel not in ("", callback.channel):
            continue
        out[f.section].append(Row(f.label, format_value(callback.data.get(f.key), f.format, zone)))
    return out


def callback_view(callback: CallbackRequest, agent_zone, configured: list[PreviewField]) -> CallbackView:
    return CallbackView(callback, agent_zone, _fields_for(callback, configured, callback.customer_zone))


@dataclass
class ChannelState:
    channel: str
    label: str
    status: str
    status_label: str
    reason: str
    since: datetime | None


@dataclass
class Workspace:
    agent: Agent
    channels: list[ChannelState]
    reasons: list[NotReadyReason]
    offers: list[tuple[Offer, CallbackView]]
    interactions: list[tuple[Interaction, CallbackView, list]]

    @property
    def any_ready(self) -> bool:
        return any(c.status == AgentStatus.READY for c in self.channels)


def workspace_context_for(agent: Agent) -> Workspace:
    """The whole agent workspace from the database: bounded, whatever the queue sizes."""
    statuses = {s.channel: s for s in AgentChannelStatus.objects.filter(agent=agent).select_related("reason")}
    channels = []
    for ch in agent.enabled_channels():
        row = statuses.get(ch)
        status = row.status if row else AgentStatus.LOGGED_OUT
        channels.append(
            ChannelState(
                channel=ch,
                label=Channel(ch).label,
                status=status,
                status_label=AgentStatus(status).label,
                reason=row.reason.name if row and row.reason else "",
                since=row.since if row else None,
            )
        )
    offers = list(
        Offer.objects.filter(agent=agent, outcome=OfferOutcome.OPEN).select_related("callback__queue").order_by("created_at")
    )
    interactions = list(
        Interaction.objects.filter(agent=agent, state=InteractionState.OPEN)
        .select_related("callback__queue", "callback__contact")
        .order_by("created_at")
    )
    configured: list[PreviewField] = []
    if offers or interactions:
        configured = list(PreviewField.objects.filter(active=True).order_by("section", "order", "label"))
    histories: dict[int, list] = {}
    if interactions:
        from .models import HistoryEvent

        ids = [i.callback_id for i in interactions]
        for event in (
            HistoryEvent.objects.filter(callback_id__in=ids)
            .select_related("agent")
            .order_by("-at", "-id")[: HISTORY_LIMIT * len(ids)]
        ):
            histories.setdefault(event.callback_id, []).append(event)
    zone = agent.zone
    return Workspace(
        agent=agent,
        channels=channels,
        reasons=list(NotReadyReason.objects.filter(active=True)),
        offers=[(o, callback_view(o.callback, zone, configured)) for o in offers],
        interactions=[
            (i, callback_view(i.callback, zone, configured), histories.get(i.callback_id, [])[:HISTORY_LIMIT])
            for i in interactions
        ],
    )


def open_callbacks_for_queue(queue_id: int, limit: int = 100):
    return (
        CallbackRequest.objects.filter(queue_id=queue_id)
        .filter(~Q(state__in=["completed", "cancelled", "failed"]))
        .order_by("-priority", "type_rank", "enqueued_at")[:limit]
    )
