"""The customer's line: every change of a call's state, with hold time accounted in one place.

Owns: `set_call_state` (the only writer of `Call.state`; leaving On Hold adds
the hold time), `place_call` (a new call to the customer: Call, or Accept on a
queue that dials at once), `end_call` (the call ends, its conference parties
leave and its consultations end, their numbers hung up), `live_call`, a
conference party's arrival and departure (`join_party`, `party_gone`,
`locked_party`), a consultation ending unfinished (`consult_gone`), a supervisor's monitoring ending with the call
or for another reason (`stop_monitoring`, `end_monitoring_by`), and the switch commands that go with them.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser

from .. import dialplan, linestate
from ..enums import OPEN_CONSULT_STATES, CallState, EffectKind, HistoryKind, MonitorEnd, MonitorMode
from ..linestate import ConsultEvent, PartyEvent, consult_state_after, party_state_after
from ..models import Call, CallParty, Consultation, Interaction, MonitoringSession, VoiceSession, person_name
from ..phone import display_phone
from ..push import Push, push_board_on_commit, push_on_commit
from ..telephony import caller_id, telephony
from . import effects, recordings
from .transitions import record


def new_call(interaction: Interaction, **fields) -> Call:
    """A call of the interaction's callback to the customer's number, as its latest attempt, under a new reference."""
    callback = interaction.callback
    push_board_on_commit(agents=True)  # the agent's row shows the call
    return Call.objects.create(
        interaction=interaction,
        callback=callback,
        switch_ref="call-" + secrets.token_hex(8),
        number=callback.phone_number,
        attempt=callback.attempts,
        **fields,
    )


def place_call(interaction: Interaction, now: datetime, *, actor: AbstractBaseUser | None) -> Call:
    """Dial the customer of the (locked) interaction: a new attempt, recorded, its dial a durable effect. The caller
    checked that no call is live and that an attempt is left. Refused when the queue's dial plan forbids the number
    (it may have changed since intake)."""
    callback = interaction.callback
    dialplan.check(callback.queue, callback.phone_number, field="phone_number")
    callback.attempts += 1
    callback.save(update_fields=["attempts", "updated_at"])
    call = new_call(interaction, started_at=now)
    interaction.last_outcome = ""
    interaction.save(update_fields=["last_outcome"])
    record(
        HistoryKind.CALL,
        f"Dialing {display_phone(call.number)} (attempt {call.attempt} of {callback.max_attempts})",
        callback=callback,
        agent=interaction.agent,
        actor=actor,
        at=now,
        call=call.switch_ref,
    )
    number, name = caller_id(callback.queue.caller_id, callback.queue.caller_id_name)
    effects.switch_command(
        EffectKind.DIAL,
        call_ref=call.switch_ref,
        number=call.number,
        caller_id=number,
        caller_name=name,
        now=now,
        callback=callback,
        agent=interaction.agent,
    )
    return call


def take_customer_on_line(interaction: Interaction, now: datetime, *, actor: AbstractBaseUser | None) -> Call:
    """Accept of a customer Ringback's voice application holds on the line (customer-first dialling, or a customer
    who called in as asked): the call is
    the agent's and connected now. The application hands the customer's phone to the agent's (a REFER to their SIP
    user, which it reads from the session); the agent's page answers the call coming from the customer's number."""
    callback = interaction.callback
    call = new_call(interaction, started_at=callback.on_line_since or now, state=CallState.CONNECTED, connected_at=now)
    VoiceSession.objects.filter(callback=callback, ended_at__isnull=True).update(refer_to=f"agent-{interaction.agent_id}")
    callback.on_line_since = None
    callback.save(update_fields=["on_line_since"])
    record(
        HistoryKind.CALL,
        f"Customer on the line handed to {interaction.agent}",
        callback=callback,
        agent=interaction.agent,
        actor=actor,
        at=now,
        call=call.switch_ref,
    )
    return call


def on_another_call(interaction: Interaction) -> bool:
    """The interaction's agent has a call dialing or connected in another window."""
    return (
        Call.objects.filter(interaction__agent=interaction.agent_id, state__in=[CallState.DIALING, CallState.CONNECTED])
        .exclude(interaction=interaction)
        .exists()
    )


def engagement_changed(agent_ids) -> None:
    """Agents who joined or left a conference or a consultation: their status bar (Busy · in a …) and desk change."""
    agent_ids = [a for a in agent_ids if a]
    push_on_commit(Push.STATUS_CHANGED, agent_ids=agent_ids)
    push_on_commit(Push.INTERACTION_CHANGED, agent_ids=agent_ids)
    push_board_on_commit(agents=True)  # the boards show them busy too


def hang_up_line(line_ref: str, now: datetime, callback) -> None:
    """Hang up the call to a number consulted or conferenced (the switch's own reference for it), durably."""
    if line_ref:
        effects.switch_command(EffectKind.HANG_UP, call_ref=line_ref, now=now, callback=callback)


def set_call_state(call: Call, state: CallState, now: datetime, *, save: bool = True) -> None:
    """Move a locked call to `state`. Leaving On Hold adds the time held; entering it starts the count."""
    if call.state == CallState.ON_HOLD and state != CallState.ON_HOLD and call.hold_started_at:
        call.hold_seconds += max(0, int((now - call.hold_started_at).total_seconds()))
        call.hold_started_at = None
    if state == CallState.ON_HOLD and call.state != CallState.ON_HOLD:
        call.hold_started_at = now
    if state == CallState.CONNECTED and call.connected_at is None:
        call.connected_at = now
    if state != call.state:
        push_board_on_commit(agents=True)  # the agent's row shows the call's state (and offers Listen)
    call.state = state
    if save:
        call.save(update_fields=["state", "hold_started_at", "hold_seconds", "connected_at"])


def live_call(interaction: Interaction, *, lock: bool = True) -> Call | None:
    """The interaction's call that has not ended, if any."""
    calls = Call.objects.filter(interaction=interaction).exclude(state=CallState.ENDED)
    if lock:
        calls = calls.select_for_update()
    return calls.first()


def release_extras(call: Call, now: datetime) -> None:
    """Conference parties leave the call and consultations on it end (the call ended or moved); the calls to
    numbers among them are hung up."""
    agents = []
    for party in CallParty.objects.filter(call=call, left_at__isnull=True):
        agents.append(party.agent_id)
        hang_up_line(party.line_ref, now, call.callback)
    leave = linestate.PARTY[PartyEvent.LEAVE]  # every party still on the call: ringing or joined
    CallParty.objects.filter(call=call, left_at__isnull=True, state__in=leave.sources).update(left_at=now, state=leave.target)
    for consult in Consultation.objects.filter(call=call, state__in=OPEN_CONSULT_STATES):
        consult.state, consult.ended_at = consult_state_after(consult.state, ConsultEvent.END), now
        consult.save(update_fields=["state", "ended_at"])
        agents.append(consult.to_agent_id)
        hang_up_line(consult.line_ref, now, call.callback)
    engagement_changed(agents)
    stop_monitoring(call, now, MonitorEnd.CALL_ENDED)


def monitoring_changed(call: Call, agent_id: int) -> None:
    """A monitoring session began, changed mode or ended: the agent's window (their indicator, and what their page
    mixes) and the boards of the call's queue (the supervisor's panel re-reads with them)."""
    push_on_commit(Push.INTERACTION_CHANGED, agent_ids=[agent_id])
    push_board_on_commit([call.callback.queue_id])


# Why a monitoring session ended, as the audit trail's message says it (history is kept in English).
MONITOR_END_WHY = {
    MonitorEnd.LEFT: "left",
    MonitorEnd.CALL_ENDED: "the call ended",
    MonitorEnd.LOGGED_OUT: "the supervisor logged out",
    MonitorEnd.LINE_ENDED: "the supervisor's line to the agent ended",
    MonitorEnd.BOARD_CLOSED: "the supervisor's board closed",
}


def stop_monitoring(call: Call, now: datetime, reason: MonitorEnd, *, actor=None, **data) -> None:
    """The call's (locked) monitoring session ends: Leave, the call ended or moved, the supervisor logged out, their
    line or their board went away. Recorded (`actor`: who did it, if anyone did; the row is `about`
    the supervisor either way), and the switch told."""
    if call.monitoring_id is None:
        return
    session = (
        MonitoringSession.objects.select_for_update(of=("self",)).select_related("supervisor", "agent").get(pk=call.monitoring_id)
    )
    session.ended_at, session.end_reason = now, reason
    session.save(update_fields=["ended_at", "end_reason"])
    call.monitoring = None
    call.save(update_fields=["monitoring"])
    record(
        HistoryKind.MONITOR,
        f"Supervisor {person_name(session.supervisor)} stopped monitoring {session.agent} "
        f"({MonitorMode(session.mode).label}): {MONITOR_END_WHY[reason]}",
        callback=call.callback,
        agent=session.agent,
        actor=actor,
        about=session.supervisor,
        at=now,
        session=session.pk,
        mode=session.mode,
        change="end",
        reason=reason.value,
        **data,
    )
    effects.switch_command(
        EffectKind.END_MONITOR, call_ref=call.switch_ref, now=now, callback=call.callback, supervisor=str(session.supervisor_id)
    )
    monitoring_changed(call, session.agent_id)


def locked_monitored_call(call_id: int) -> Call:
    """A monitored call, locked, with its callback (the trail's row names it): what ending its session changes."""
    return Call.objects.select_for_update(of=("self",)).select_related("callback").get(pk=call_id)


def end_monitoring_by(supervisor_id: int, now: datetime, reason: MonitorEnd, *, actor=None, **data) -> bool:
    """The supervisor's open monitoring session, if any, ends for `reason` (they logged out, their board closed).
    The call is locked first, as when it ends. Whether a session ended."""
    session = MonitoringSession.objects.filter(supervisor_id=supervisor_id, ended_at__isnull=True).first()
    if session is None:
        return False
    call = locked_monitored_call(session.call_id)
    if call.monitoring_id != session.pk:  # ended meanwhile
        return False
    stop_monitoring(call, now, reason, actor=actor, **data)
    return True


def end_call(call: Call, outcome: str, now: datetime, *, hang_up: bool = False) -> None:
    """The call ends with `outcome`. With `hang_up`, Ringback tells the switch to release the line."""
    set_call_state(call, CallState.ENDED, now, save=False)
    call.outcome = outcome
    call.ended_at = now
    call.transfer_id = ""  # a transfer still asked of the line has nothing left to move
    call.save(update_fields=["state", "hold_started_at", "hold_seconds", "connected_at", "outcome", "ended_at", "transfer_id"])
    recordings.finish(call, now)
    release_extras(call, now)
    if hang_up:
        effects.switch_command(EffectKind.HANG_UP, call_ref=call.switch_ref, now=now, callback=call.callback)


def join_party(party: CallParty, call: Call, now: datetime) -> None:
    """A party asked into the (locked) call is in it: the agent accepted, or the number answered. A customer on hold
    is taken off hold, and the switch bridges them."""
    party.state, party.joined_at = party_state_after(party.state, PartyEvent.JOIN), now
    if telephony().transfers_on_the_line and not party.leg:  # the softphone calls the party and mixes the calls
        party.leg = party.line_ref or f"party-{party.pk}"  # a number: the call the page placed while it rang
    party.save(update_fields=["state", "joined_at", "leg"])
    if call.state == CallState.ON_HOLD:
        set_call_state(call, CallState.CONNECTED, now)
        effects.switch_command(EffectKind.RESUME, call_ref=call.switch_ref, now=now, callback=call.callback)
    destination = party.number or f"agent:{party.agent_id}"
    effects.switch_command(
        EffectKind.CONFERENCE, call_ref=call.switch_ref, now=now, callback=call.callback, destination=destination
    )
    engagement_changed([party.agent_id, call.interaction.agent_id])


def consult_gone(consult: Consultation, now: datetime, *, agent, message: str, banner: str) -> None:
    """A consultation (locked, with its call's interaction and callback loaded) ended before it was completed: not
    answered, not reached, or hung up. The customer stays on hold; the case history records `message` (for `agent`)
    and `banner` tells the agent who asked why."""
    consult.state, consult.ended_at = consult_state_after(consult.state, ConsultEvent.END), now
    consult.save(update_fields=["state", "ended_at"])
    record(HistoryKind.CONSULT, message, callback=consult.call.callback, agent=agent, at=now)
    interaction = consult.call.interaction
    interaction.last_outcome = banner[:200]
    interaction.save(update_fields=["last_outcome"])


def locked_party(**lookup) -> CallParty | None:
    """The conference party matching `lookup`, locked, with its call's interaction, agent and callback loaded (what
    `party_gone` and the refusals need)."""
    return (
        CallParty.objects.select_for_update(of=("self",))
        .select_related("call__interaction__agent", "call__callback")
        .filter(**lookup)
        .first()
    )


def party_gone(
    party: CallParty,
    event: PartyEvent,
    now: datetime,
    *,
    message: str,
    banner: str = "",
    actor: AbstractBaseUser | None = None,
    hang_up: bool = False,
) -> None:
    """A party (locked, with its call's interaction loaded) is no longer in the call, or never joined it: declined,
    not answered, not reached, or left. Recorded in the case history; `banner` tells the call's agent why."""
    party.state, party.left_at = party_state_after(party.state, event), now
    party.save(update_fields=["state", "left_at"])
    if hang_up:
        hang_up_line(party.line_ref, now, party.call.callback)
    interaction = party.call.interaction
    record(HistoryKind.CONFERENCE, message, callback=party.call.callback, agent=interaction.agent, actor=actor, at=now)
    if banner:
        interaction.last_outcome = banner[:200]
        interaction.save(update_fields=["last_outcome"])
    engagement_changed([party.agent_id, interaction.agent_id])
