"""The agent's desk as a read model per region (`Workspace`): each region loads its own parts on first use, with
bounded reads; a push or an answer that renders one region touches only that region's parts. The interaction
windows, the e-mail windows and the text conversations have presenters of their own (`windows`, `emails`,
`conversations`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation

from .. import configuration
from ..enums import (
    ACTIVE_CALL_STATES,
    SYSTEM_CLOSINGS,
    AgentStatus,
    CallbackState,
    ConsultState,
    InteractionState,
    Language,
    OfferOutcome,
    PartyState,
)
from ..models import (
    Agent,
    AgentChannelStatus,
    Call,
    CallbackRequest,
    CallParty,
    Consultation,
    Interaction,
    NotReadyReason,
    Offer,
    PreviewField,
    channels_of,
)
from ..telephony import sip
from .conversations import TextWindow, open_texts
from .emails import EmailWindow, open_emails
from .fields import CallbackView, callback_view
from .status import ChannelState, channel_states, engaged_as, engagement
from .windows import InteractionView, interaction_windows, joined_calls

HANDOVER_WINDOW = timedelta(seconds=60)  # how long the page may take to hand a customer over after a consultation


@dataclass(frozen=True)
class Handover:
    call_ref: str
    to_agent_id: int
    leg: str  # the consultation's call, which the REFER replaces (it also names the handover)


class Workspace:
    """The agent's workspace as a read model per region, each part loaded on first use with its own bounded queries.

    A push or an answer that renders one region touches only that region's
    parts: the status bar reads the agent's statuses and the Not Ready
    reasons; the notifications read offers, consultation requests and
    personal callbacks; the interaction windows read the open interactions
    and what hangs off them.
    """

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.zone = agent.zone
        self.softphone = sip.enabled()  # the status bar shows the browser softphone's registration

    # --- status ----------------------------------------------------------------
    @cached_property
    def _status_rows(self) -> list[AgentChannelStatus]:
        """The agent's status rows, each also saying whether they are in another agent's call (same statement)."""
        return list(
            AgentChannelStatus.objects.filter(agent=self.agent).select_related("reason").annotate(**engagement(self.agent))
        )

    @cached_property
    def channels(self) -> list[ChannelState]:
        rows = {s.channel: s for s in self._status_rows}
        return channel_states(channels_of(rows), rows)

    @property
    def engaged(self) -> str:
        """Why the agent is busy whatever their channel status: in a conference or a consultation (else "")."""
        return engaged_as(self._status_rows)

    @property
    def languages(self) -> list[tuple[str, str, bool]]:
        """The workspace's languages, the agent's own marked."""
        mine = translation.get_language() or "en"
        return [(code, name, code == mine) for code, name in Language.choices]

    @cached_property
    def reasons(self) -> list[NotReadyReason]:
        return configuration.not_ready_reasons()

    @property
    def any_ready(self) -> bool:
        return any(c.status == AgentStatus.READY for c in self.channels)

    # --- notifications -----------------------------------------------------------
    @cached_property
    def configured(self) -> list[PreviewField]:
        return configuration.preview_fields()

    @cached_property
    def offers(self) -> list[tuple[Offer, CallbackView]]:
        rows = list(
            Offer.objects.filter(agent=self.agent, outcome=OfferOutcome.OPEN)
            .select_related("callback__queue")
            .order_by("created_at")
        )
        return [(o, callback_view(o.callback, self.zone, self.configured)) for o in rows]

    @cached_property
    def consult_requests(self) -> list:
        return list(
            Consultation.objects.filter(to_agent=self.agent, state=ConsultState.REQUESTED).select_related(
                "from_agent", "call__callback"
            )
        )

    @cached_property
    def conference_requests(self) -> list[tuple[CallParty, datetime]]:
        """Instant Call Conference requests waiting on this agent's Accept or Decline, with when each lapses (an agent
        with no status row is logged out, and a logged-out agent is never asked)."""
        if not any(r.asked_to_conference for r in self._status_rows):
            return []  # the usual case costs no statement: the status rows say whether to look
        wait = timedelta(seconds=settings.RINGBACK_CONFERENCE_REQUEST_SECONDS)
        rows = CallParty.objects.filter(agent=self.agent, state=PartyState.RINGING, left_at__isnull=True).select_related(
            "call__interaction__agent", "call__callback__queue"
        )
        return [(p, p.asked_at + wait) for p in rows]

    @cached_property
    def transfer_requests(self) -> list[Call]:
        """Calls another agent is transferring to this one on the softphone: ringing here until answered."""
        if not self.softphone:
            return []
        return list(
            Call.objects.filter(transfer_key=f"agent:{self.agent.pk}", state__in=ACTIVE_CALL_STATES)
            .exclude(transfer_id="")
            .select_related("interaction__agent", "callback")
        )

    @cached_property
    def endings(self) -> list:
        return _recent_endings(self.agent)

    @cached_property
    def _personal(self) -> dict[str, list]:
        return _personal(self.agent)

    @property
    def mine(self) -> list:
        return self._personal["mine"]

    @property
    def reminders(self) -> list:
        return self._personal["reminders"]

    # --- interaction windows -----------------------------------------------------
    @cached_property
    def handovers(self) -> list[Handover]:
        """Calls this agent just transferred to another after a consultation, which the softphone still has to
        hand over: a REFER of the customer's phone to theirs, replacing the consultation's call. None with another
        adapter (an Instant Call Transfer on the softphone is asked of the line instead: `transfer_requests`)."""
        if not self.softphone:
            return []
        consults = Consultation.objects.filter(  # a number consulted is asked of the line as a blind transfer
            from_agent=self.agent,
            to_agent__isnull=False,
            state=ConsultState.TRANSFERRED,
            ended_at__gte=timezone.now() - HANDOVER_WINDOW,
            call__state__in=ACTIVE_CALL_STATES,
        )
        return [Handover(c.call.switch_ref, c.to_agent_id, leg=f"consult-{c.pk}") for c in consults.select_related("call")]

    @cached_property
    def interactions(self) -> list[InteractionView]:
        return interaction_windows(self.agent)

    # --- e-mail windows -------------------------------------------------------------
    @cached_property
    def emails(self) -> list[EmailWindow]:
        return open_emails(self.agent)

    # --- text conversation windows --------------------------------------------------------------------------------
    @cached_property
    def texts(self) -> list[TextWindow]:
        return open_texts(self.agent)

    @cached_property
    def joined(self) -> list:
        """Consultations and conferences I was brought into."""
        if not any(r.in_consultation or r.in_conference for r in self._status_rows):
            return []  # the usual case costs no statement: the status rows say whether to look
        return joined_calls(self.agent)


def workspace_context_for(agent: Agent) -> Workspace:
    """The agent's workspace; each region's parts load when that region renders (bounded, whatever the queue sizes)."""
    return Workspace(agent)


NOTICE_FOR = timedelta(minutes=2)


def _recent_endings(agent: Agent) -> list:
    """Interactions the system closed (automatic retry, attempts exhausted), while their notice still holds: for two
    minutes at most, and only until the agent's next interaction opens (the next call is another situation)."""
    now = timezone.now()
    later = Interaction.objects.filter(agent=agent, created_at__gt=OuterRef("ended_at"))
    rows = list(
        Interaction.objects.filter(agent=agent, state=InteractionState.DONE, ended_at__gte=now - NOTICE_FOR)
        .filter(closing_reason__in=SYSTEM_CLOSINGS)
        .exclude(Exists(later))
        .select_related("callback")
        .order_by("-ended_at")[:3]
    )
    for row in rows:
        row.notice_expires = row.ended_at + NOTICE_FOR
    return rows


def _personal(agent: Agent) -> dict[str, list]:
    mine = list(
        CallbackRequest.objects.filter(
            owner=agent, state__in=[CallbackState.SCHEDULED, CallbackState.QUEUED, CallbackState.OFFERED]
        )
        .select_related("queue")
        .order_by("desired_time")[:20]
    )
    return {"mine": mine, "reminders": [c for c in mine if c.reminded_at and c.state != CallbackState.OFFERED]}
