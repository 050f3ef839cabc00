"""The status bar's channels as the agent and the board show them, and what keeps an agent busy whatever their status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists
from django.utils.translation import gettext_noop

from ..enums import AgentStatus, Channel, ConsultState, PartyState
from ..models import AgentChannelStatus, CallParty, Consultation


@dataclass
class ChannelState:
    channel: str
    label: str
    status: str
    status_label: str
    reason: str
    since: datetime | None


def channel_states(channels: list[str], rows: dict[str, AgentChannelStatus]) -> list[ChannelState]:
    """An agent's status on each of their channels, from their status rows by channel (reasons loaded); a channel
    without a row is Logged Out."""
    out = []
    for ch in channels:
        row = rows.get(ch)
        status = row.status if row else AgentStatus.LOGGED_OUT
        out.append(
            ChannelState(
                channel=ch,
                label=Channel(ch).label,
                status=status,
                status_label=AgentStatus(status).label,
                reason=row.reason.name if row and row.reason else "",
                since=row.since if row else None,
            )
        )
    return out


def engagement(agent) -> dict:
    """Annotations for an agent's status rows (`agent`: an Agent, or OuterRef("agent_id")): are they in another agent's
    call, a consultation or a conference, or asked into one (same statement)."""
    return {
        "in_consultation": Exists(Consultation.objects.filter(to_agent=agent, state=ConsultState.ACTIVE)),
        "in_conference": Exists(CallParty.objects.filter(agent=agent, state=PartyState.JOINED, left_at__isnull=True)),
        "asked_to_conference": Exists(CallParty.objects.filter(agent=agent, state=PartyState.RINGING, left_at__isnull=True)),
    }


def engaged_as(rows) -> str:
    """From status rows annotated with `engagement`: why the agent is busy whatever their status (else "")."""
    if any(r.in_conference for r in rows):
        return gettext_noop("in a conference")
    if any(r.in_consultation for r in rows):
        return gettext_noop("in a consultation")
    return ""
