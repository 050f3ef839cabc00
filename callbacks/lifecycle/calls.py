"""The call itself: Call, End Call, Hold, Resume Call, Send DTMF, and what the switch reports.

Switch I/O happens after commit. Switch events come back through
do_switch_event; a dial that does not reach the customer applies the queue's
retry policy.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .. import callstate
from ..enums import DIAL_FAILURES, CallbackState, CallOutcome, CallState, HistoryKind, InteractionState, RetryAction
from ..errors import DomainError, Invalid
from ..models import Call, Interaction, RetryRule
from ..phone import display_phone
from ..push import Push, push_on_commit
from ..telephony import SwitchEvent, telephony
from .core import action, locked_interaction_for, record
from .wrapup import close_interaction

DTMF_DIGITS = re.compile(r"^[0-9*#]{1,32}$")


def switch_later(method: str, **kwargs) -> None:
    """Ask the switch after the commit: slow I/O never runs inside the transaction."""
    transaction.on_commit(lambda: getattr(telephony(), method)(**kwargs))


def live_call(interaction: Interaction, *, lock: bool = True) -> Call | None:
    calls = Call.objects.filter(interaction=interaction).exclude(state=CallState.ENDED)
    if lock:
        calls = calls.select_for_update()
    return calls.first()


def _changed(interaction: Interaction) -> None:
    push_on_commit(Push.INTERACTION_CHANGED, agent_ids=[interaction.agent_id], queue_ids=[interaction.callback.queue_id])


def _end(call: Call, outcome: str, now: datetime) -> None:
    if call.state == CallState.ON_HOLD and call.hold_started_at:
        call.hold_seconds += int((now - call.hold_started_at).total_seconds())
    call.state = CallState.ENDED
    call.outcome = outcome
    call.ended_at = now
    call.hold_started_at = None
    call.save()
    release_extras(call, now)


def release_extras(call: Call, now: datetime) -> None:
    """Conference parties leave the call and consultations on it end (the call ended or moved)."""
    from ..enums import OPEN_CONSULT_STATES, ConsultState
    from ..models import CallParty, Consultation

    agents = list(
        CallParty.objects.filter(call=call, left_at__isnull=True, agent__isnull=False).values_list("agent_id", flat=True)
    )
    CallParty.objects.filter(call=call, left_at__isnull=True).update(left_at=now)
    for consult in Consultation.objects.filter(call=call, state__in=OPEN_CONSULT_STATES):
        consult.state, consult.ended_at = ConsultState.ENDED, now
        consult.save(update_fields=["state", "ended_at"])
        agents.append(consult.to_agent_id)
    if agents:
        push_on_commit(Push.INTERACTION_CHANGED, agent_ids=agents)


def _locked(user: AbstractBaseUser, interaction_id: int, act: str) -> tuple[Interaction, Call | None]:
    interaction = locked_interaction_for(user, interaction_id)
    call = live_call(interaction)
    callstate.check(act, callstate.status_of(call))
    return interaction, call


@action
def do_call(*, user: AbstractBaseUser, interaction_id: int) -> Call:
    """The agent clicked Call. Refused while a call is live or when every attempt is used."""
    now = timezone.now()
    interaction, _ = _locked(user, interaction_id, "call")
    callback = interaction.callback
    if callback.state != CallbackState.IN_PROGRESS:
        raise DomainError("This callback is no longer yours to call.")
    if callback.attempts >= callback.max_attempts:
        raise DomainError(f"All {callback.max_attempts} attempts are used: reschedule or Mark Done.")
    if (
        Call.objects.filter(interaction__agent=interaction.agent, state__in=[CallState.DIALING, CallState.CONNECTED])
        .exclude(interaction=interaction)
        .exists()
    ):
        raise DomainError("You are already on another call: hold it or end it first.")
    callback.attempts += 1
    callback.save(update_fields=["attempts", "updated_at"])
    call = Call.objects.create(
        interaction=interaction,
        callback=callback,
        switch_ref="call-" + secrets.token_hex(8),
        number=callback.phone_number,
        attempt=callback.attempts,
        started_at=now,
    )
    interaction.last_outcome = ""
    interaction.save(update_fields=["last_outcome"])
    record(
        HistoryKind.CALL,
        f"Dialing {display_phone(call.number)} (attempt {call.attempt} of {callback.max_attempts})",
        callback=callback,
        agent=interaction.agent,
        actor=user,
        at=now,
        call=call.switch_ref,
    )
    switch_later("dial", call_ref=call.switch_ref, number=call.number)
    _changed(interaction)
    return call


@action
def do_end_call(*, user: AbstractBaseUser, interaction_id: int) -> Call:
    """The agent clicked End Call. Refused when no call is live."""
    now = timezone.now()
    interaction, call = _locked(user, interaction_id, "end")
    _end(call, CallOutcome.AGENT_HANGUP, now)
    record(
        HistoryKind.CALL, "Call ended by the agent", callback=interaction.callback, agent=interaction.agent, actor=user, at=now
    )
    switch_later("hang_up", call_ref=call.switch_ref)
    _changed(interaction)
    return call


@action
def do_hold_call(*, user: AbstractBaseUser, interaction_id: int) -> Call:
    """The agent clicked Hold. Refused unless the call is connected."""
    now = timezone.now()
    interaction, call = _locked(user, interaction_id, "hold")
    call.state = CallState.ON_HOLD
    call.hold_started_at = now
    call.save(update_fields=["state", "hold_started_at"])
    record(HistoryKind.CALL, "Call on hold", callback=interaction.callback, agent=interaction.agent, actor=user, at=now)
    switch_later("hold", call_ref=call.switch_ref)
    _changed(interaction)
    return call


@action
def do_resume_call(*, user: AbstractBaseUser, interaction_id: int) -> Call:
    """The agent clicked Resume Call. Refused unless the call is on hold."""
    now = timezone.now()
    interaction, call = _locked(user, interaction_id, "resume")
    call.hold_seconds += int((now - call.hold_started_at).total_seconds()) if call.hold_started_at else 0
    call.state = CallState.CONNECTED
    call.hold_started_at = None
    call.save(update_fields=["state", "hold_started_at", "hold_seconds"])
    record(HistoryKind.CALL, "Call resumed", callback=interaction.callback, agent=interaction.agent, actor=user, at=now)
    switch_later("resume", call_ref=call.switch_ref)
    _changed(interaction)
    return call


@action
def do_send_dtmf(*, user: AbstractBaseUser, interaction_id: int, digits: str) -> Call:
    """The agent keyed DTMF digits: they go to the switch and into the case history."""
    digits = (digits or "").replace(" ", "")
    if not DTMF_DIGITS.match(digits):
        raise Invalid("DTMF digits are 0–9, * and # (up to 32).", field="digits")
    now = timezone.now()
    interaction, call = _locked(user, interaction_id, "dtmf")
    record(
        HistoryKind.DTMF,
        f"DTMF sent: {digits}",
        callback=interaction.callback,
        agent=interaction.agent,
        actor=user,
        at=now,
        digits=digits,
    )
    switch_later("send_dtmf", call_ref=call.switch_ref, digits=digits)
    _changed(interaction)
    return call


# --- Events from the switch -----------------------------------------------------


@action
def do_switch_event(*, call_ref: str, event: str, digits: str = "") -> Call | None:
    """The switch reported what happened on the line. Late or repeated events change nothing."""
    now = timezone.now()
    call = (
        Call.objects.select_for_update()
        .select_related("interaction__callback__queue", "interaction__agent")
        .filter(switch_ref=call_ref)
        .first()
    )
    if call is None:
        return None
    interaction = call.interaction
    if event == SwitchEvent.DTMF:
        if call.state == CallState.CONNECTED and DTMF_DIGITS.match(digits or ""):
            record(
                HistoryKind.DTMF,
                f"Customer keyed: {digits}",
                callback=call.callback,
                agent=interaction.agent,
                at=now,
                digits=digits,
            )
            _changed(interaction)
        return call
    if event == SwitchEvent.RINGING:
        return call
    transition = callstate.apply_event(call.state, event)
    if transition is None:
        return call
    new_state, outcome = transition
    if new_state == CallState.CONNECTED:
        call.state = CallState.CONNECTED
        call.connected_at = now
        call.save(update_fields=["state", "connected_at"])
        record(HistoryKind.CALL, "Customer answered: connected", callback=call.callback, agent=interaction.agent, at=now)
    else:
        _end(call, outcome, now)
        record(
            HistoryKind.CALL,
            f"Call ended: {CallOutcome(outcome).label.lower()}",
            callback=call.callback,
            agent=interaction.agent,
            at=now,
            outcome=outcome,
        )
        if outcome in DIAL_FAILURES and interaction.state == InteractionState.OPEN:
            _apply_retry_policy(interaction, call, outcome, now)
    _changed(interaction)
    return call


def retry_rule_for(queue_id: int, outcome: str) -> RetryRule:
    return RetryRule.objects.filter(queue_id=queue_id, outcome=outcome).first() or RetryRule(
        queue_id=queue_id, outcome=outcome, action=RetryAction.ASK_AGENT
    )


def _apply_retry_policy(interaction: Interaction, call: Call, outcome: str, now: datetime) -> None:
    callback = interaction.callback
    label = CallOutcome(outcome).label
    rule = retry_rule_for(callback.queue_id, outcome)
    exhausted = callback.attempts >= callback.max_attempts
    if rule.action == RetryAction.ASK_AGENT:
        left = callback.max_attempts - callback.attempts
        interaction.last_outcome = (
            f"{label}. All {callback.max_attempts} attempts used: reschedule or Mark Done."
            if exhausted
            else f"{label}. Call again ({left} attempt{'s' if left != 1 else ''} left), reschedule, or Mark Done."
        )
        interaction.save(update_fields=["last_outcome"])
        return
    if exhausted:
        callback.state = CallbackState.FAILED
        callback.outcome = f"Attempts exhausted: {label.lower()}"
        callback.closed_at = now
        callback.save(update_fields=["state", "outcome", "closed_at", "updated_at"])
        record(HistoryKind.FAILED, callback.outcome, callback=callback, agent=interaction.agent, at=now)
        close_interaction(interaction, reason=callback.outcome, now=now)
        return
    when = now + timedelta(minutes=rule.delay_minutes)
    callback.state = CallbackState.SCHEDULED
    callback.desired_time = when
    callback.enqueued_at = None
    callback.save(update_fields=["state", "desired_time", "enqueued_at", "updated_at"])
    message = f"{label}: automatic retry at {timezone.localtime(when, callback.customer_zone):%H:%M} ({callback.customer_timezone}), attempt {callback.attempts + 1} of {callback.max_attempts}"
    record(HistoryKind.RETRY, message, callback=callback, agent=interaction.agent, at=now, retry_at=when.isoformat())
    close_interaction(interaction, reason=message, now=now)
