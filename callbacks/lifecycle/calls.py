"""Call control: Call, End Call, Hold, Resume Call, Send DTMF, what the switch reports, and the retry policy.

Owns: the agent's call actions (checked against `callbacks/callstate.py`),
`do_switch_event` (events from the switch; late or repeated ones change
nothing), `end_unreached_call` (call supervision ends a dial the switch never
answered), and the per-queue retry policy when a dial does not reach the customer.
Switch commands are durable effects, performed by the worker after commit.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from .. import calendars, callstate
from ..enums import (
    DIAL_FAILURES,
    OPEN_CONSULT_STATES,
    CallbackEvent,
    CallbackState,
    CallOutcome,
    CallState,
    ClosingReason,
    ConsultState,
    EffectKind,
    HistoryKind,
    InteractionState,
    PartyState,
    RecordingPolicy,
    RecordingState,
    RetryAction,
)
from ..errors import DomainError, Invalid
from ..linestate import ConsultEvent, PartyEvent, consult_state_after
from ..models import Call, CallbackRequest, Consultation, Interaction, LineReport, RetryRule
from ..phone import in_both_zones
from ..push import Push, push_on_commit
from ..telephony import SwitchEvent
from . import effects, recordings
from .lines import (
    consult_gone,
    end_call,
    join_party,
    live_call,
    locked_party,
    on_another_call,
    party_gone,
    place_call,
    set_call_state,
)
from .transitions import action, locked_interaction_for, record, transition
from .wrapup import close_interaction

DTMF_DIGITS = re.compile(r"^[0-9*#]{1,32}$")


def interaction_changed(interaction: Interaction) -> None:
    """Push the agent's interaction window after commit."""
    push_on_commit(Push.INTERACTION_CHANGED, agent_ids=[interaction.agent_id])


def locked_call(user: AbstractBaseUser, interaction_id: int, act: str) -> tuple[Interaction, Call | None]:
    """The user's open interaction and its live call, locked; refused when the call status does not allow `act`."""
    interaction = locked_interaction_for(user, interaction_id)
    call = live_call(interaction)
    callstate.check(act, callstate.status_of(call))
    return interaction, call


def command(kind: EffectKind, call: Call, now: datetime, **arguments: str) -> None:
    """Tell the switch, durably (the worker performs it after commit, with retries)."""
    effects.switch_command(kind, call_ref=call.switch_ref, now=now, callback=call.callback, **arguments)


@action
def do_call(*, user: AbstractBaseUser, interaction_id: int) -> Call:
    """The agent clicked Call. Refused while a call is live or when every attempt is used."""
    now = timezone.now()
    interaction, _ = locked_call(user, interaction_id, "call")
    callback = interaction.callback
    if callback.state != CallbackState.IN_PROGRESS:
        raise DomainError(gettext("This callback is no longer yours to call."))
    if callback.attempts >= callback.max_attempts:
        raise DomainError(gettext("All %(count)s attempts are used: reschedule or Mark Done.") % {"count": callback.max_attempts})
    if on_another_call(interaction):
        raise DomainError(gettext("You are already on another call: hold it or end it first."))
    call = place_call(interaction, now, actor=user)
    interaction_changed(interaction)
    return call


@action
def do_end_call(*, user: AbstractBaseUser, interaction_id: int) -> Call:
    """The agent clicked End Call. Refused when no call is live."""
    now = timezone.now()
    interaction, call = locked_call(user, interaction_id, "end")
    end_call(call, CallOutcome.AGENT_HANGUP, now, hang_up=True)
    record(
        HistoryKind.CALL, "Call ended by the agent", callback=interaction.callback, agent=interaction.agent, actor=user, at=now
    )
    interaction_changed(interaction)
    return call


@action
def do_hold_call(*, user: AbstractBaseUser, interaction_id: int) -> Call:
    """The agent clicked Hold. Refused unless the call is connected."""
    now = timezone.now()
    interaction, call = locked_call(user, interaction_id, "hold")
    set_call_state(call, CallState.ON_HOLD, now)
    record(HistoryKind.CALL, "Call on hold", callback=interaction.callback, agent=interaction.agent, actor=user, at=now)
    command(EffectKind.HOLD, call, now)
    interaction_changed(interaction)
    return call


@action
def do_resume_call(*, user: AbstractBaseUser, interaction_id: int) -> Call:
    """The agent clicked Resume Call. Refused unless the call is on hold."""
    now = timezone.now()
    interaction, call = locked_call(user, interaction_id, "resume")
    set_call_state(call, CallState.CONNECTED, now)
    record(HistoryKind.CALL, "Call resumed", callback=interaction.callback, agent=interaction.agent, actor=user, at=now)
    command(EffectKind.RESUME, call, now)
    interaction_changed(interaction)
    return call


@action
def do_record_call(*, user: AbstractBaseUser, interaction_id: int) -> Call:
    """The agent pressed Record: for a queue whose recordings the agent starts, on a connected call."""
    now = timezone.now()
    interaction, call = locked_call(user, interaction_id, "record")
    if interaction.callback.queue.recording_policy != RecordingPolicy.AGENT:
        raise DomainError(gettext("This queue's calls are not recorded by the agent."))
    if call.recording:
        raise DomainError(gettext("This call is already being recorded."))
    recordings.begin(call, now, actor=user)
    interaction_changed(interaction)
    return call


def _switch_recording(user: AbstractBaseUser, interaction_id: int, current: RecordingState, refused: str, change) -> Call:
    now = timezone.now()
    interaction, call = locked_call(user, interaction_id, "record")
    if call.recording != current:
        raise DomainError(gettext(refused))
    change(call, now)
    interaction_changed(interaction)
    return call


@action
def do_pause_recording(*, user: AbstractBaseUser, interaction_id: int) -> Call:
    """The agent pressed Pause recording (a card number is coming): nothing is recorded until Resume recording."""
    return _switch_recording(
        user, interaction_id, RecordingState.RECORDING, gettext_noop("This call is not being recorded."), recordings.pause
    )


@action
def do_resume_recording(*, user: AbstractBaseUser, interaction_id: int) -> Call:
    return _switch_recording(
        user, interaction_id, RecordingState.PAUSED, gettext_noop("The recording is not paused."), recordings.resume
    )


@action
def do_send_dtmf(*, user: AbstractBaseUser, interaction_id: int, digits: str) -> Call:
    """The agent keyed DTMF digits: they go to the switch and into the case history."""
    digits = (digits or "").replace(" ", "")
    if not DTMF_DIGITS.match(digits):
        raise Invalid(gettext("DTMF digits are 0–9, * and # (up to 32)."), field="digits")
    now = timezone.now()
    interaction, call = locked_call(user, interaction_id, "dtmf")
    record(
        HistoryKind.DTMF,
        f"DTMF sent: {digits}",
        callback=interaction.callback,
        agent=interaction.agent,
        actor=user,
        at=now,
        digits=digits,
    )
    command(EffectKind.SEND_DTMF, call, now, digits=digits)
    interaction_changed(interaction)
    return call


# --- Events from the switch -----------------------------------------------------


def _call_ended(call: Call, outcome: str, now: datetime, message: str) -> None:
    interaction = call.interaction
    end_call(call, outcome, now)
    record(HistoryKind.CALL, message, callback=call.callback, agent=interaction.agent, at=now, outcome=outcome)
    if outcome in DIAL_FAILURES and interaction.state == InteractionState.OPEN:
        apply_retry_policy(interaction, outcome, now)
    interaction_changed(interaction)


@action
def do_switch_event(*, call_ref: str, event: str, digits: str = "") -> Call | None:
    """The switch reported what happened on the line. Late or repeated events change nothing."""
    return switch_event(call_ref=call_ref, event=event, digits=digits)


@action
def do_line_report(*, report_id: str, call_ref: str, source: str, event: str, code: int | None, outcome: str) -> bool:
    """A SIP session's report of a call (the agent's page, or the proxy), applied once per report id: `outcome`
    is its switch event (`telephony.sip.softphone.outcome_of`). True when the report was new."""
    new = new_line_report(report_id=report_id, call_ref=call_ref, source=source, event=event, code=code)
    if new:
        switch_event(call_ref=call_ref, event=outcome)
    return new


def new_line_report(*, report_id: str, call_ref: str, source: str, event: str, code: int | None) -> bool:
    """Keep a line report once per id; True when it was not seen before."""
    _, new = LineReport.objects.get_or_create(
        report_id=report_id,
        defaults={"call_ref": call_ref, "source": source, "event": event, "code": code, "received_at": timezone.now()},
    )
    return new


def switch_event(*, call_ref: str, event: str, digits: str = "") -> Call | None:
    now = timezone.now()
    call = (
        Call.objects.select_for_update()
        .select_related("interaction__callback__queue", "interaction__agent")
        .filter(switch_ref=call_ref)
        .first()
    )
    if call is None:
        line_event(call_ref, event, now)
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
            interaction_changed(interaction)
        return call
    if event == SwitchEvent.RINGING:
        return call
    move = callstate.apply_event(call.state, event)
    if move is None:
        return call
    new_state, outcome = move
    if new_state == CallState.CONNECTED:
        set_call_state(call, CallState.CONNECTED, now)
        record(HistoryKind.CALL, "Customer answered: connected", callback=call.callback, agent=interaction.agent, at=now)
        recordings.answered(call, now)
        interaction_changed(interaction)
    elif event == SwitchEvent.AGENT_PHONE_HANGUP:
        _call_ended(call, outcome, now, "Call ended: the agent's phone hung up (their page was closed)")
    else:
        _call_ended(call, outcome, now, f"Call ended: {CallOutcome(outcome).label.lower()}")
    return call


def line_event(line_ref: str, event: str, now: datetime) -> None:
    """What the switch says of a call to a number consulted or conferenced (not the customer's): its answer is the
    accept; not reaching it, or its hang-up, ends the consultation or the party, and the agent reads why."""
    consult = (
        Consultation.objects.select_for_update(of=("self",))
        .select_related("call__interaction__agent", "call__callback", "from_agent")
        .filter(line_ref=line_ref, state__in=OPEN_CONSULT_STATES)
        .first()
    )
    if consult is not None:
        consult_line_event(consult, event, now)
        return
    party = locked_party(line_ref=line_ref, left_at__isnull=True)
    if party is None:
        return  # ended already, or not ours
    ringing = party.state == PartyState.RINGING
    if event == SwitchEvent.ANSWERED and ringing:
        call = Call.objects.select_for_update().select_related("interaction").get(pk=party.call_id)
        join_party(party, call, now)
        record(
            HistoryKind.CONFERENCE,
            f"{party.label} answered: in the conference",
            callback=call.callback,
            agent=call.interaction.agent,
            at=now,
        )
    elif event in LINE_FAILURES and ringing:
        why = LINE_FAILURES[event]
        party_gone(
            party,
            PartyEvent.NO_ANSWER if event == SwitchEvent.NO_ANSWER else PartyEvent.FAIL,
            now,
            message=f"Instant Call Conference with {party.label} failed: {why}",
            banner=f"Conference with {party.label} failed: {why}. The customer is still on the line.",
        )
    elif event == SwitchEvent.REMOTE_HANGUP and not ringing:
        party_gone(party, PartyEvent.LEAVE, now, message=f"{party.label} hung up: left the conference")


# Why a call to a number did not reach it, in words.
LINE_FAILURES = {
    SwitchEvent.BUSY: "busy",
    SwitchEvent.NO_ANSWER: "no answer",
    SwitchEvent.ANSWERING_MACHINE: "an answering machine",
    SwitchEvent.FAILED: "the call failed",
    SwitchEvent.REMOTE_HANGUP: "they hung up",
}


def consult_line_event(consult: Consultation, event: str, now: datetime) -> None:
    interaction = consult.call.interaction
    label = consult.target_label
    if event == SwitchEvent.ANSWERED and consult.state == ConsultState.REQUESTED:
        consult.state = consult_state_after(consult.state, ConsultEvent.ANSWERED)
        consult.save(update_fields=["state"])
        record(
            HistoryKind.CONSULT,
            f"{label} answered: consultation connected (customer on hold)",
            callback=consult.call.callback,
            agent=interaction.agent,
            at=now,
        )
        command(EffectKind.CONSULT, consult.call, now, destination=consult.number)
    elif event in LINE_FAILURES:
        why = "they hung up" if consult.state == ConsultState.ACTIVE else LINE_FAILURES[event]
        consult_gone(
            consult,
            now,
            agent=interaction.agent,
            message=f"Consultation with {label} ended: {why}",
            banner=f"Consultation with {label} ended: {why}. The customer is on hold: Resume Call, or consult someone else.",
        )
    else:
        return
    interaction_changed(interaction)


@action
def end_unreached_call(*, call_id: int, reason: str) -> Call | None:
    """Call supervision: a dial the switch never answered (or never took) ends as failed, with the reason."""
    now = timezone.now()
    call = (
        Call.objects.select_for_update(skip_locked=True)
        .select_related("interaction__callback__queue", "interaction__agent")
        .filter(pk=call_id, state=CallState.DIALING)
        .first()
    )
    if call is None:
        return None  # answered or ended meanwhile, or another dispatcher has it
    _call_ended(call, CallOutcome.FAILED, now, f"Call ended: failed ({reason})")
    command(EffectKind.HANG_UP, call, now)
    return call


def retry_rule_for(queue_id: int, outcome: str) -> RetryRule:
    return RetryRule.objects.filter(queue_id=queue_id, outcome=outcome).first() or RetryRule(
        queue_id=queue_id, outcome=outcome, action=RetryAction.ASK_AGENT
    )


def retry_time(callback: CallbackRequest, rule: RetryRule, now: datetime) -> datetime | None:
    """The next time the queue is open and the customer available, no sooner than the rule's delay (None: no such
    time in the customer's availability window)."""
    spec = calendars.spec_for(callback.queue)
    return calendars.routable_from(spec, now + timedelta(minutes=rule.delay_minutes), callback.window_start, callback.window_end)


def apply_retry_policy(interaction: Interaction, outcome: str, now: datetime) -> None:
    """A dial did not reach the customer: ask the agent, retry later, or fail when the attempts are used."""
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
    when = None if exhausted else retry_time(callback, rule, now)
    if exhausted or when is None:
        callback.outcome = (
            f"Attempts exhausted: {label.lower()}"
            if exhausted
            else f"{label}; no open time left in the customer's availability window for a retry"
        )
        transition(
            callback,
            CallbackEvent.FAIL,
            now=now,
            message=callback.outcome,
            agent=interaction.agent,
            notify=[interaction.agent_id],
            fields=["outcome"],
        )
        close_interaction(interaction, reason=ClosingReason.ATTEMPTS_EXHAUSTED, note=callback.outcome, now=now)
        return
    callback.desired_time = when
    callback.enqueued_at = None
    at = in_both_zones(when, interaction.agent.timezone, callback.customer_timezone)
    message = f"{label}: automatic retry at {at}, attempt {callback.attempts + 1} of {callback.max_attempts}"
    transition(
        callback,
        CallbackEvent.RETRY,
        now=now,
        message=message,
        agent=interaction.agent,
        notify=[interaction.agent_id],
        fields=["desired_time", "enqueued_at"],
        retry_at=when.isoformat(),
    )
    close_interaction(interaction, reason=ClosingReason.RETRY_SCHEDULED, note=message, now=now)
