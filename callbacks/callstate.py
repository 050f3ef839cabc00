"""The voice call state machine, as data: which action is allowed in which call status.

Call status as the agent sees it: Ready to Call (no live call: before the
first dial, and again after either party ends), Dialing, Connected, On Hold.
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from .enums import CallOutcome, CallState
from .errors import DomainError

READY_TO_CALL = "ready_to_call"
STATUS_LABELS = {
    READY_TO_CALL: _("Ready to Call"),
    CallState.DIALING: _("Dialing"),
    CallState.CONNECTED: _("Connected"),
    CallState.ON_HOLD: _("On Hold"),
}

# action -> (statuses where it is allowed, message when it is not)
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "call": (frozenset({READY_TO_CALL}), _("A call is already in progress.")),
    "end": (frozenset({CallState.DIALING, CallState.CONNECTED, CallState.ON_HOLD}), _("There is no call to end.")),
    "hold": (frozenset({CallState.CONNECTED}), _("Only a connected call can be put on hold.")),
    "resume": (frozenset({CallState.ON_HOLD}), _("Only a call on hold can be resumed.")),
    "dtmf": (frozenset({CallState.CONNECTED}), _("DTMF needs a connected call.")),
    "record": (frozenset({CallState.CONNECTED, CallState.ON_HOLD}), _("Recording needs a connected call.")),
    "transfer": (frozenset({CallState.CONNECTED, CallState.ON_HOLD}), _("Transfer needs a connected call.")),
    "conference": (frozenset({CallState.CONNECTED, CallState.ON_HOLD}), _("Conference needs a connected call.")),
    "consult": (frozenset({CallState.CONNECTED, CallState.ON_HOLD}), _("A consultation needs a connected call.")),
    "mark_done": (frozenset({READY_TO_CALL}), _("End the call before Mark Done.")),
}

# (call state, switch event) -> (new state, outcome recorded when the call ends)
EVENTS: dict[tuple[str, str], tuple[str, str]] = {
    (CallState.DIALING, "answered"): (CallState.CONNECTED, CallOutcome.ANSWERED),
    (CallState.DIALING, "busy"): (CallState.ENDED, CallOutcome.BUSY),
    (CallState.DIALING, "no_answer"): (CallState.ENDED, CallOutcome.NO_ANSWER),
    (CallState.DIALING, "answering_machine"): (CallState.ENDED, CallOutcome.ANSWERING_MACHINE),
    (CallState.DIALING, "failed"): (CallState.ENDED, CallOutcome.FAILED),
    (CallState.DIALING, "remote_hangup"): (CallState.ENDED, CallOutcome.FAILED),
    (CallState.CONNECTED, "remote_hangup"): (CallState.ENDED, CallOutcome.REMOTE_HANGUP),
    (CallState.ON_HOLD, "remote_hangup"): (CallState.ENDED, CallOutcome.REMOTE_HANGUP),
    (CallState.CONNECTED, "agent_phone_hangup"): (CallState.ENDED, CallOutcome.AGENT_HANGUP),
    (CallState.ON_HOLD, "agent_phone_hangup"): (CallState.ENDED, CallOutcome.AGENT_HANGUP),
}


def status_of(call) -> str:
    """The call status of an interaction whose live call is `call` (or None)."""
    if call is None or call.state == CallState.ENDED:
        return READY_TO_CALL
    return call.state


def check(action: str, status: str) -> None:
    allowed, message = ACTIONS[action]
    if status not in allowed:
        raise DomainError(gettext(message))


def allowed(action: str, status: str) -> bool:
    return status in ACTIONS[action][0]


def apply_event(state: str, event: str) -> tuple[str, str] | None:
    """The transition for a switch event, or None when the event does not apply (late or repeated)."""
    return EVENTS.get((state, event))
