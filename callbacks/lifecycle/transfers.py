"""Transfers and consultations: Instant Call Transfer, Instant Call Conference, Start Consultation, Team Communicator targets.

Owns: resolving a Team Communicator target (`agent:3`, `queue:2`, `rp:1` for
a routing point, `contact:7`, `number:+33612345678`), moving a live call to
another agent, queue or number, conference parties, the consultation
lifecycle (requested, accepted or declined, ended, completed as a transfer
or a conference), and the agent's favourite targets.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext

from .. import dialplan, routing
from ..enums import (
    AgentStatus,
    CallbackEvent,
    CallOutcome,
    CallState,
    Channel,
    ClosingReason,
    ConsultState,
    EffectKind,
    HistoryKind,
    InteractionState,
    OfferOutcome,
    PartyState,
)
from ..errors import DomainError, Invalid, Refused, is_id
from ..linestate import ConsultEvent, PartyEvent, consult_state_after
from ..models import (
    Agent,
    AgentChannelStatus,
    Call,
    CallParty,
    Consultation,
    Contact,
    FavoriteTarget,
    Interaction,
    Offer,
    Queue,
    RoutingPoint,
)
from ..phone import display_phone, normalize_phone
from ..push import Push, push_on_commit
from ..telephony import telephony
from ..telephony.sip import agent_user
from . import effects
from .calls import command, interaction_changed, locked_call, new_line_report
from .lines import (
    consult_gone,
    end_call,
    engagement_changed,
    hang_up_line,
    join_party,
    locked_party,
    party_gone,
    release_extras,
    set_call_state,
)
from .offers import create_offer, route_agent_on_commit, route_on_commit
from .transitions import acting_agent, action, record, transition
from .wrapup import close_interaction


class TargetKind(StrEnum):
    """Where a transfer, conference or consultation goes."""

    AGENT = "agent"
    QUEUE = "queue"
    EXTERNAL = "external"  # a number outside: a contact, a routing point without a queue, a typed number


@dataclass
class Target:
    kind: TargetKind
    label: str
    key: str
    agent: Agent | None = None
    queue: Queue | None = None
    number: str = ""


def resolve_target(key: str, *, dialled_for: Queue | None = None) -> Target:
    """A Team Communicator target from its key; refused when it does not exist (any more), and when it is a number
    that `dialled_for`'s dial plan forbids (the call of a callback in that queue would reach it)."""
    target = _target(key)
    if dialled_for is not None and target.number:
        dialplan.check(dialled_for, target.number)
    return target


def _target(key: str) -> Target:
    kind, _, ident = (key or "").partition(":")
    if kind in ("agent", "queue", "rp", "contact") and is_id(ident):
        key = f"{kind}:{int(ident)}"  # one spelling per target
    if kind == "agent" and is_id(ident):
        agent = Agent.objects.filter(pk=ident).first()
        if agent:
            return Target(TargetKind.AGENT, str(agent), key, agent=agent)
    elif kind == "queue" and is_id(ident):
        queue = Queue.objects.filter(pk=ident, active=True).first()
        if queue:
            return Target(TargetKind.QUEUE, queue.name, key, queue=queue)
    elif kind == "rp" and is_id(ident):
        rp = RoutingPoint.objects.filter(pk=ident, active=True).select_related("queue").first()
        if rp:
            queue = routing.queue_from_point(rp, timezone.now())  # its rules, else its own queue
            return Target(TargetKind.QUEUE if queue else TargetKind.EXTERNAL, rp.name, key, queue=queue, number=rp.number)
    elif kind == "contact" and is_id(ident):
        contact = Contact.objects.filter(pk=ident).prefetch_related("phones").first()
        if contact and contact.phones.all():
            number = contact.phones.all()[0].number
            return Target(TargetKind.EXTERNAL, f"{contact} ({display_phone(number)})"[:200], key, number=number)
    elif kind == "number":
        number = normalize_phone(ident)
        return Target(TargetKind.EXTERNAL, display_phone(number), f"number:{number}", number=number)
    raise Invalid(gettext("Pick a target from the Team Communicator."), field="target")


def _free_on(agent: Agent, channel: str) -> bool:
    ready = AgentChannelStatus.objects.filter(agent=agent, channel=channel, status=AgentStatus.READY).exists()
    ringing = Offer.objects.filter(agent=agent, channel=channel, outcome=OfferOutcome.OPEN).exists()
    busy = Interaction.objects.filter(agent=agent, channel=channel, state=InteractionState.OPEN).exists()
    return ready and not ringing and not busy and not routing.engaged(agent.pk)


@action
def do_transfer(*, user: AbstractBaseUser, interaction_id: int, target: str) -> Target:
    """Instant Call Transfer: the live call goes to an agent (offered to them), a queue, or an outside number.

    Refused when the target agent is not Ready and free (also when routing rang them a moment ago).
    """
    now = timezone.now()
    interaction, call = locked_call(user, interaction_id, "transfer")
    callback = interaction.callback
    t = resolve_target(target, dialled_for=callback.queue)
    me = interaction.agent
    message = f"Instant Call Transfer to {t.label}"
    if t.kind == TargetKind.AGENT:
        if t.agent.pk == me.pk:
            raise Invalid(gettext("You cannot transfer a call to yourself."), field="target")
        if not _free_on(t.agent, interaction.channel):
            raise DomainError(gettext("%(agent)s is not Ready or is busy; try another target or a queue.") % {"agent": t.agent})
        if telephony().transfers_on_the_line:  # Bob's phone rings; the call stays Alice's until he answers it
            t.number = agent_user(t.agent.pk)
            return _ask_the_line(interaction, call, t, user, now)
        if call.state == CallState.ON_HOLD:
            set_call_state(call, CallState.CONNECTED, now)
        offer = create_offer(callback, t.agent, now, call=call, from_agent=me)
        if offer is None:
            raise DomainError(
                gettext("%(agent)s was just offered another callback; try another target or a queue.") % {"agent": t.agent}
            )
        release_extras(call, now)  # consultations and conference parties do not travel with the call
        transition(
            callback,
            CallbackEvent.TRANSFER_TO_AGENT,
            now=now,
            message=message,
            agent=me,
            actor=user,
            notify=[t.agent.pk],
            target=t.key,
        )
    elif t.kind == TargetKind.EXTERNAL and telephony().transfers_on_the_line:
        return _ask_the_line(interaction, call, t, user, now)
    else:
        end_call(call, CallOutcome.TRANSFERRED, now)
        if t.kind == TargetKind.QUEUE:
            if telephony().transfers_on_the_line:  # no queue holds a live customer here: the next agent calls back
                message += ": the call ended, the queue's next agent calls the customer back"
            callback.queue = t.queue
            callback.enqueued_at = callback.enqueued_at or now
            transition(
                callback,
                CallbackEvent.TRANSFER_TO_QUEUE,
                now=now,
                message=message,
                agent=me,
                actor=user,
                fields=["queue", "enqueued_at"],
                target=t.key,
            )
            route_on_commit(t.queue.pk, callback.channel)
        else:
            _transferred_out(interaction, t, now, actor=user)
            command(EffectKind.TRANSFER, call, now, destination=t.number or t.key)
            return t
    command(EffectKind.TRANSFER, call, now, destination=t.number or t.key)
    close_interaction(interaction, reason=ClosingReason.TRANSFERRED, note=f"Transferred to {t.label}", now=now)
    return t


def _transferred_out(interaction: Interaction, t: Target, now: datetime, actor: AbstractBaseUser | None) -> None:
    """The call went to a number outside: the callback ends there, and so does the agent's interaction."""
    callback = interaction.callback
    callback.outcome = f"Transferred to {t.label}"
    transition(
        callback,
        CallbackEvent.TRANSFER_OUT,
        now=now,
        message=f"Instant Call Transfer to {t.label}",
        agent=interaction.agent,
        actor=actor,
        fields=["outcome"],
        target=t.key,
    )
    close_interaction(interaction, reason=ClosingReason.TRANSFERRED, note=f"Transferred to {t.label}", now=now)


def _ask_the_line(interaction: Interaction, call: Call, t: Target, user: AbstractBaseUser, now: datetime) -> Target:
    """A softphone transfers the call itself (a REFER to the customer's phone): the call stays the agent's until
    the far end says the target answered (`do_line_transfer_report`); if it does not, the customer is still there."""
    if call.transfer_id:
        raise DomainError(gettext("A transfer to %(target)s is already under way.") % {"target": call.transfer_label})
    call.transfer_id = secrets.token_hex(8)
    call.transfer_key, call.transfer_number, call.transfer_label = t.key, t.number, t.label[:200]
    call.save(update_fields=["transfer_id", "transfer_key", "transfer_number", "transfer_label"])
    interaction.last_outcome = ""  # an earlier failed transfer's banner
    interaction.save(update_fields=["last_outcome"])
    record(
        HistoryKind.TRANSFER,
        f"Instant Call Transfer to {t.label} asked: the customer's phone is calling them",
        callback=interaction.callback,
        agent=interaction.agent,
        actor=user,
        at=now,
        target=t.key,
    )
    interaction_changed(interaction)
    if t.agent:  # their notifications show the request, with Accept (answer the call ringing) and Decline
        push_on_commit(Push.INTERACTION_CHANGED, agent_ids=[t.agent.pk])
    return t


@action
def do_line_transfer_report(*, call_ref: str, transfer_id: str, ok: bool, code: int | None, source: str) -> bool:
    """The far end's word on the transfer `transfer_id` (see `_ask_the_line`), once per report: the target answered
    (`ok`), or the code says why not. A report on another transfer, or on an ended call, changes nothing."""
    event = "transferred" if ok else "transfer_failed"
    report_id = f"{source}:{call_ref}:{event}:{transfer_id}"
    if not new_line_report(report_id=report_id, call_ref=call_ref, source=source, event=event, code=code):
        return False
    call = (
        Call.objects.select_for_update()
        .select_related("interaction__callback__queue", "interaction__agent")
        .filter(switch_ref=call_ref)
        .first()
    )
    if call is None or not call.transfer_id or transfer_id != call.transfer_id or not call.is_active:
        return True
    now = timezone.now()
    interaction = call.interaction
    t = Target(TargetKind.EXTERNAL, call.transfer_label, call.transfer_key, number=call.transfer_number)
    target_agent = transfer_agent(call)
    call.transfer_id = ""
    if target_agent:
        push_on_commit(Push.INTERACTION_CHANGED, agent_ids=[target_agent.pk])  # the request goes from their desk
    if ok and target_agent:
        _hand_call_to(call, interaction, target_agent, now)
        record(
            HistoryKind.TRANSFER, f"Call transferred to {target_agent}", callback=call.callback, agent=interaction.agent, at=now
        )
        push_on_commit(Push.INTERACTION_CHANGED, agent_ids=[interaction.agent_id, target_agent.pk])
        return True
    if ok:
        end_call(call, CallOutcome.TRANSFERRED, now)
        _transferred_out(interaction, t, now, actor=None)
        return True
    call.save(update_fields=["transfer_id"])
    why = transfer_failure(code)
    record(
        HistoryKind.TRANSFER,
        f"Instant Call Transfer to {t.label} failed: {why}; the customer is still on the line",
        callback=call.callback,
        agent=interaction.agent,
        at=now,
        target=t.key,
        code=code,
    )
    interaction.last_outcome = f"Transfer to {t.label} failed: {why}. The customer is still on the line."[:200]
    interaction.save(update_fields=["last_outcome"])
    interaction_changed(interaction)
    return True


def transfer_agent(call: Call) -> Agent | None:
    """The agent a transfer asked of the line goes to (None for a number)."""
    kind, _, ident = call.transfer_key.partition(":")
    return Agent.objects.filter(pk=ident).first() if kind == "agent" and is_id(ident) else None


def _hand_call_to(call: Call, mine: Interaction, target: Agent, now: datetime) -> None:
    """The live call becomes `target`'s, in a window of their own; the agent's window closes (the callback stays in
    progress: one agent hands it to another)."""
    close_interaction(mine, reason=ClosingReason.TRANSFERRED, note=f"Transferred to {target}", now=now)
    call.interaction = Interaction.objects.create(callback=call.callback, agent=target, channel=mine.channel, created_at=now)
    call.save(update_fields=["interaction", "transfer_id"])


def transfer_failure(code: int | None) -> str:
    """Why a transfer did not reach its target, in words, from the far end's SIP code (never its reason text)."""
    if code == 603:
        return "declined"
    if code in (486, 600):
        return "busy"
    if code in (408, 480, 487):
        return "no answer"
    if code in (404, 484, 604):
        return "the number does not exist"
    return f"the line refused it (SIP {code})" if code else "the line did not say why"


def _logged_out(agent: Agent, channel: str) -> bool:
    return not AgentChannelStatus.objects.filter(agent=agent, channel=channel).exclude(status=AgentStatus.LOGGED_OUT).exists()


def free_again(agent_id: int | None) -> None:
    """An agent left (or was never let into) another agent's call: routing may offer them callbacks again."""
    if agent_id:
        for channel in Channel:
            route_agent_on_commit(agent_id, channel)


def _dial_number(row: CallParty | Consultation, interaction: Interaction, call: Call, now: datetime) -> None:
    """Call the number of a party or a consultation: a call of its own at the switch (`leg-…`), dialled durably.
    The agent's window is pushed once the switch took the dial, so the far end's phone page link appears."""
    row.line_ref = "leg-" + secrets.token_hex(8)
    row.save(update_fields=["line_ref"])
    effects.switch_command(
        EffectKind.DIAL, call_ref=row.line_ref, number=row.number, now=now, callback=call.callback, agent=interaction.agent
    )


@action
def do_conference(*, user: AbstractBaseUser, interaction_id: int, target: str) -> CallParty:
    """Instant Call Conference: another agent is asked (a Conference request on their desk: Accept or Decline), or a
    number is called (its answer is the accept). The party joins the live call only then.

    Refused for a queue, for oneself, for a party already in (or asked into) the call, and for an agent who is
    logged out or already in another conference or consultation."""
    now = timezone.now()
    interaction, call = locked_call(user, interaction_id, "conference")
    t = resolve_target(target, dialled_for=interaction.callback.queue)
    if t.kind == TargetKind.QUEUE:
        raise Invalid(gettext("Conference with a person or a number, not a queue."), field="target")
    if t.agent and t.agent.pk == interaction.agent_id:
        raise Invalid(gettext("You are already on this call."), field="target")
    if CallParty.objects.filter(call=call, left_at__isnull=True, agent=t.agent, number=t.number).exists():
        raise DomainError(gettext("%(target)s is already in the conference (or asked).") % {"target": t.label})
    if t.agent and _logged_out(t.agent, interaction.channel):
        raise DomainError(gettext("%(agent)s is logged out.") % {"agent": t.agent})
    if t.agent and routing.engaged(t.agent.pk):
        raise DomainError(
            gettext("%(agent)s is busy in another conference or consultation; try again later.") % {"agent": t.agent}
        )
    party = CallParty.objects.create(
        call=call, agent=t.agent, number=t.number, label=t.label[:200], state=PartyState.RINGING, asked_at=now
    )
    interaction.last_outcome = ""  # an earlier refusal's banner
    interaction.save(update_fields=["last_outcome"])
    if t.agent:
        message = f"Instant Call Conference: request sent to {t.label}"
    else:
        _dial_number(party, interaction, call, now)
        message = f"Instant Call Conference: calling {t.label}"
    record(HistoryKind.CONFERENCE, message, callback=call.callback, agent=interaction.agent, actor=user, at=now, target=t.key)
    engagement_changed([t.agent.pk if t.agent else None, interaction.agent_id])
    return party


def _locked_request_for_me(user: AbstractBaseUser, party_id: int, verb: str) -> tuple[CallParty, Agent]:
    party = locked_party(pk=party_id)
    if party is None:
        raise DomainError(gettext("That conference request does not exist."), status=404)
    me = acting_agent(user)
    if party.agent_id != me.pk:
        raise Refused(gettext("Only the agent asked can answer this conference request."))
    if party.state != PartyState.RINGING or party.left_at is not None:
        raise DomainError(gettext("This conference request is no longer open."))
    return party, me


@action
def do_accept_conference(*, user: AbstractBaseUser, party_id: int) -> CallParty:
    """The agent asked clicked Accept on a Conference request: they join the customer's call."""
    now = timezone.now()
    party, me = _locked_request_for_me(user, party_id, "accept")
    call = Call.objects.select_for_update().select_related("interaction").get(pk=party.call_id)
    if not call.is_active:
        raise DomainError(gettext("The customer's call has ended."))
    join_party(party, call, now)
    record(HistoryKind.CONFERENCE, f"{me} accepted: conference with {me}", callback=call.callback, agent=me, actor=user, at=now)
    return party


@action
def do_decline_conference(*, user: AbstractBaseUser, party_id: int) -> CallParty:
    """The agent asked clicked Decline on a Conference request: the agent who asked reads why in their window."""
    party, me = _locked_request_for_me(user, party_id, "decline")
    party_gone(
        party,
        PartyEvent.DECLINE,
        timezone.now(),
        message=f"{me} declined the conference",
        banner=f"{me} declined the conference request. The customer is still on the line.",
        actor=user,
    )
    free_again(me.pk)
    return party


def unanswered_conference_requests(now: datetime):
    """Conference requests (to an agent, or a number ringing) asked long enough ago to have lapsed, oldest first."""
    asked = min(settings.RINGBACK_CONFERENCE_REQUEST_SECONDS, settings.RINGBACK_DIAL_LIMIT_SECONDS)
    return CallParty.objects.filter(state=PartyState.RINGING, asked_at__lte=now - timedelta(seconds=asked)).order_by("asked_at")


def unanswered_consultation_requests(now: datetime):
    """Consultation requests an agent left unanswered for `RINGBACK_CONSULT_REQUEST_SECONDS`, oldest first (a number
    consulted answers or not through the switch, which gives up after its dial limit)."""
    asked = now - timedelta(seconds=settings.RINGBACK_CONSULT_REQUEST_SECONDS)
    return Consultation.objects.filter(state=ConsultState.REQUESTED, created_at__lte=asked, to_agent__isnull=False).order_by(
        "created_at"
    )


@action
def do_expire_conference_requests(*, now: datetime | None = None, limit: int = 200) -> int:
    """The clock: a Conference request an agent left unanswered for `RINGBACK_CONFERENCE_REQUEST_SECONDS` ends as
    not answered (a number still ringing after the dial limit too: its line is hung up)."""
    now = now or timezone.now()
    rows = list(
        unanswered_conference_requests(now)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("call__interaction__agent", "call__callback")[:limit]
    )
    expired = 0
    for party in rows:
        wait = settings.RINGBACK_CONFERENCE_REQUEST_SECONDS if party.agent_id else settings.RINGBACK_DIAL_LIMIT_SECONDS
        if party.asked_at > now - timedelta(seconds=wait):
            continue
        party_gone(
            party,
            PartyEvent.NO_ANSWER,
            now,
            message=f"Conference request to {party.label} not answered within {wait} s",
            banner=f"{party.label} did not answer the conference request. The customer is still on the line.",
            hang_up=True,
        )
        free_again(party.agent_id)
        expired += 1
    return expired


@action
def do_expire_consultation_requests(*, now: datetime | None = None, limit: int = 200) -> int:
    """The clock: a consultation request the agent asked did not answer in time ends; the customer stays on hold and
    the agent who asked reads why in their window."""
    now = now or timezone.now()
    rows = list(
        unanswered_consultation_requests(now)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("call__interaction", "call__callback", "to_agent")[:limit]
    )
    wait = settings.RINGBACK_CONSULT_REQUEST_SECONDS
    for consult in rows:
        consult_gone(
            consult,
            now,
            agent=consult.to_agent,
            message=f"Consultation request to {consult.to_agent} not answered within {wait} s",
            banner=f"{consult.to_agent} did not answer the consultation request. The customer is on hold.",
        )
        engagement_changed([consult.from_agent_id, consult.to_agent_id])
        free_again(consult.to_agent_id)
    return len(rows)


@action
def do_leave_conference(*, user: AbstractBaseUser, party_id: int) -> None:
    """An agent who was conferenced in leaves the call (or the owner drops a party, or cancels a request)."""
    party = locked_party(pk=party_id, left_at__isnull=True)
    if party is None:
        raise DomainError(gettext("That party already left the call."), status=409)
    me = acting_agent(user)
    if me.pk not in (party.agent_id, party.call.interaction.agent_id):
        raise Refused(gettext("This is not your conference."))
    if party.state == PartyState.RINGING and me.pk == party.agent_id:
        raise DomainError(gettext("Accept or Decline the conference request."))
    message = f"Conference request to {party.label} cancelled" if party.state == PartyState.RINGING else ""
    party_gone(
        party, PartyEvent.LEAVE, timezone.now(), message=message or f"{party.label} left the conference", actor=user, hang_up=True
    )
    free_again(party.agent_id)


# --- Consultation -------------------------------------------------------------------


@action
def do_start_consultation(*, user: AbstractBaseUser, interaction_id: int, target: str) -> Consultation:
    """Start Consultation with another agent (who may accept or decline), or with a contact or a typed number (the
    far end's answer is the accept): the customer is held meanwhile.

    Refused for a queue, oneself, a logged-out agent, and while a consultation is open on the call."""
    now = timezone.now()
    interaction, call = locked_call(user, interaction_id, "consult")
    t = resolve_target(target, dialled_for=interaction.callback.queue)
    if t.kind == TargetKind.QUEUE:
        raise Invalid(gettext("Consult an agent, a contact or a number, not a queue."), field="target")
    if t.agent and t.agent.pk == interaction.agent_id:
        raise Invalid(gettext("You cannot consult yourself."), field="target")
    if t.agent and _logged_out(t.agent, interaction.channel):
        raise DomainError(gettext("%(agent)s is logged out.") % {"agent": t.agent})
    if Consultation.objects.filter(call=call, state__in=[ConsultState.REQUESTED, ConsultState.ACTIVE]).exists():
        raise DomainError(gettext("A consultation is already open on this call."))
    if call.state == CallState.CONNECTED:
        set_call_state(call, CallState.ON_HOLD, now)
        command(EffectKind.HOLD, call, now)
    consult = Consultation.objects.create(
        call=call,
        from_agent=interaction.agent,
        to_agent=t.agent,
        number=t.number,
        label=t.label[:200],
        target=t.key,
        created_at=now,
    )
    interaction.last_outcome = ""  # an earlier consultation's banner
    interaction.save(update_fields=["last_outcome"])
    if t.agent:
        message = f"Consultation requested with {t.agent}"
    else:
        _dial_number(consult, interaction, call, now)
        message = f"Consultation requested with {t.label}: calling (customer on hold)"
    record(HistoryKind.CONSULT, message, callback=call.callback, agent=interaction.agent, actor=user, at=now, target=t.key)
    engagement_changed([interaction.agent_id, t.agent.pk if t.agent else None])
    return consult


def _locked_consult(user: AbstractBaseUser, consultation_id: int) -> tuple[Consultation, Agent]:
    consult = (
        Consultation.objects.select_for_update(of=("self",))
        .select_related("call__interaction", "call__callback", "from_agent", "to_agent")
        .filter(pk=consultation_id)
        .first()
    )
    if consult is None:
        raise DomainError(gettext("That consultation does not exist."), status=404)
    me = acting_agent(user)
    if me.pk not in (consult.from_agent_id, consult.to_agent_id):
        raise Refused(gettext("This consultation is between other agents."))
    return consult, me


def _finish(consult: Consultation, event: ConsultEvent, now: datetime) -> None:
    consult.state = consult_state_after(consult.state, event)
    consult.ended_at = now
    consult.save(update_fields=["state", "ended_at"])
    engagement_changed([consult.from_agent_id, consult.to_agent_id])


def _open_request_for_me(user: AbstractBaseUser, consultation_id: int, verb: str) -> tuple[Consultation, Agent]:
    consult, me = _locked_consult(user, consultation_id)
    if me.pk != consult.to_agent_id:
        raise Refused(gettext("Only the agent consulted can answer this consultation request."))
    return consult, me


@action
def do_accept_consultation(*, user: AbstractBaseUser, consultation_id: int) -> Consultation:
    """The target accepted the consultation request."""
    now = timezone.now()
    consult, me = _open_request_for_me(user, consultation_id, "accept")
    consult.state = consult_state_after(consult.state, ConsultEvent.ACCEPT)
    consult.save(update_fields=["state"])
    record(HistoryKind.CONSULT, f"{me} accepted the consultation", callback=consult.call.callback, agent=me, actor=user, at=now)
    command(EffectKind.CONSULT, consult.call, now, destination=f"agent:{me.pk}")
    engagement_changed([consult.from_agent_id, consult.to_agent_id])
    return consult


@action
def do_decline_consultation(*, user: AbstractBaseUser, consultation_id: int) -> Consultation:
    """The target declined the consultation request."""
    consult, me = _open_request_for_me(user, consultation_id, "decline")
    _finish(consult, ConsultEvent.DECLINE, timezone.now())
    record(HistoryKind.CONSULT, f"{me} declined the consultation", callback=consult.call.callback, agent=me, actor=user)
    free_again(me.pk)
    return consult


@action
def do_end_consultation(*, user: AbstractBaseUser, consultation_id: int) -> Consultation:
    """Either side ended the consultation (a number consulted is hung up); the customer stays on hold for the agent
    to resume."""
    now = timezone.now()
    consult, me = _locked_consult(user, consultation_id)
    _finish(consult, ConsultEvent.END, now)
    record(HistoryKind.CONSULT, f"Consultation ended by {me}", callback=consult.call.callback, agent=me, actor=user, at=now)
    command(EffectKind.END_CONSULT, consult.call, now)
    hang_up_line(consult.line_ref, now, consult.call.callback)
    free_again(consult.to_agent_id)
    return consult


@action
def do_complete_consultation(*, user: AbstractBaseUser, consultation_id: int, mode: str) -> Consultation:
    """After consulting, the agent transfers the call to, or conferences with, the agent or number consulted."""
    now = timezone.now()
    consult, me = _locked_consult(user, consultation_id)
    if me.pk != consult.from_agent_id:
        raise Refused(gettext("Only the agent who started the consultation can do this."))
    consult_state_after(consult.state, ConsultEvent.TRANSFER)  # refused unless active (either completion)
    if mode not in ("transfer", "conference"):
        raise Invalid(gettext("Choose transfer or conference."), field="mode")
    call = Call.objects.select_for_update().select_related("interaction__agent", "interaction__callback").get(pk=consult.call_id)
    if not call.is_active:
        raise DomainError(gettext("The customer's call has ended."))
    if call.interaction.state != InteractionState.OPEN or call.interaction.agent_id != me.pk:
        raise DomainError(gettext("This call is no longer yours."))
    set_call_state(call, CallState.CONNECTED, now)
    target = consult.to_agent
    label = consult.target_label
    destination = f"agent:{target.pk}" if target else consult.number
    if mode == "transfer" and target is None:
        t = Target(TargetKind.EXTERNAL, label, consult.target or f"number:{consult.number}", number=consult.number)
        _finish(consult, ConsultEvent.TRANSFER, now)
        record(
            HistoryKind.TRANSFER,
            f"Call transferred to {label} after consultation",
            callback=call.callback,
            agent=me,
            actor=user,
            at=now,
        )
        if telephony().transfers_on_the_line:  # the page REFERs the customer's phone to the number, as a blind transfer
            _ask_the_line(call.interaction, call, t, user, now)
            return consult
        end_call(call, CallOutcome.TRANSFERRED, now)
        _transferred_out(call.interaction, t, now, actor=user)
        command(EffectKind.TRANSFER, call, now, destination=destination)
        return consult
    if mode == "transfer":
        _hand_call_to(call, call.interaction, target, now)
        event, kind, message = ConsultEvent.TRANSFER, HistoryKind.TRANSFER, f"Call transferred to {target} after consultation"
    else:
        CallParty.objects.create(
            call=call,
            agent=target,
            number=consult.number,
            label=label[:200],
            state=PartyState.JOINED,
            asked_at=consult.created_at,
            joined_at=now,
            leg=consult.leg,
            line_ref=consult.line_ref,
        )
        event, kind, message = ConsultEvent.CONFERENCE, HistoryKind.CONFERENCE, f"Conference with {label} after consultation"
    _finish(consult, event, now)
    record(kind, message, callback=call.callback, agent=me, actor=user, at=now)
    command(EffectKind.TRANSFER if mode == "transfer" else EffectKind.CONFERENCE, call, now, destination=destination)
    return consult


@action
def do_toggle_favorite(*, user: AbstractBaseUser, target: str) -> bool:
    """The agent starred (or unstarred) a Team Communicator target. Returns whether it is now a favourite."""
    me = acting_agent(user)
    t = resolve_target(target)
    existing = FavoriteTarget.objects.filter(agent=me, target=t.key).first()
    if existing:
        existing.delete()
        return False
    FavoriteTarget.objects.create(agent=me, target=t.key, label=t.label[:200])
    return True
