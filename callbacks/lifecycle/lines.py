"""The customer's line: every change of a call's state, with hold time accounted in one place.

Owns: `set_call_state` (the only writer of `Call.state`; leaving On Hold adds
the hold time), `end_call` (the call ends, its conference parties leave and
its consultations end), `live_call`, and the switch commands that go with them.
"""

from __future__ import annotations

from datetime import datetime

from ..enums import OPEN_CONSULT_STATES, CallState, ConsultState, EffectKind
from ..models import Call, CallParty, Consultation, Interaction
from ..push import Push, push_on_commit
from . import effects


def set_call_state(call: Call, state: CallState, now: datetime, *, save: bool = True) -> None:
    """Move a locked call to `state`. Leaving On Hold adds the time held; entering it starts the count."""
    if call.state == CallState.ON_HOLD and state != CallState.ON_HOLD and call.hold_started_at:
        call.hold_seconds += max(0, int((now - call.hold_started_at).total_seconds()))
        call.hold_started_at = None
    if state == CallState.ON_HOLD and call.state != CallState.ON_HOLD:
        call.hold_started_at = now
    if state == CallState.CONNECTED and call.connected_at is None:
        call.connected_at = now
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
    """Conference parties leave the call and consultations on it end (the call ended or moved)."""
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


def end_call(call: Call, outcome: str, now: datetime, *, hang_up: bool = False) -> None:
    """The call ends with `outcome`. With `hang_up`, Ringback tells the switch to release the line."""
    set_call_state(call, CallState.ENDED, now, save=False)
    call.outcome = outcome
    call.ended_at = now
    call.transfer_id = ""  # a transfer still asked of the line has nothing left to move
    call.save(update_fields=["state", "hold_started_at", "hold_seconds", "connected_at", "outcome", "ended_at", "transfer_id"])
    release_extras(call, now)
    if hang_up:
        effects.switch_command(EffectKind.HANG_UP, call_ref=call.switch_ref, now=now, callback=call.callback)
