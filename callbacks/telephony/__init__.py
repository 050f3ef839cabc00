"""The telephony boundary: Ringback asks a switch to act, the switch reports events back.

Ringback calls the adapter only after its own transaction commits (slow I/O
never holds a lock). The adapter reports what happened on the line by calling
`callbacks.lifecycle.do_switch_event(call_ref=..., event=...)`. The adapter in
use is `settings.RINGBACK_TELEPHONY`; the built-in one is a simulated switch.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class SwitchEvent(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    ANSWERING_MACHINE = "answering_machine"
    FAILED = "failed"
    REMOTE_HANGUP = "remote_hangup"
    AGENT_PHONE_HANGUP = "agent_phone_hangup"  # the agent's own phone hung up without Ringback (a closed tab)
    DTMF = "dtmf"  # the customer pressed keys


def caller_id(number: str, name: str = "") -> tuple[str, str]:
    """What a queue's calls present: its number in E.164 (the site's RINGBACK_SIP_CALLER_ID when it has none) and
    its display name (checked in admin: nothing in it can leave a SIP header's quotes)."""
    return number or settings.RINGBACK_SIP_CALLER_ID, name


def caller_id_text(number: str, name: str = "") -> str:
    """The caller ID as kamailio reads it from Ringback: "<number>" or "<number>|<name>"."""
    number, name = caller_id(number, name)
    return f"{number}|{name}" if name and number else number


class Telephony(Protocol):
    """What a switch connector implements (SIP/CTI or the simulator)."""

    # True when the line carries out a transfer to a number itself and says whether the target answered (a SIP
    # REFER and its NOTIFYs): Ringback then keeps the call the agent's until it hears (`do_line_transfer_report`).
    transfers_on_the_line: bool

    def dial(self, *, call_ref: str, number: str, caller_id: str = "", caller_name: str = "") -> None:
        """Call `number`, presenting `caller_id` (E.164, empty: the line's own) and `caller_name` (empty: none)."""

    def hang_up(self, *, call_ref: str) -> None: ...

    def hold(self, *, call_ref: str) -> None: ...

    def resume(self, *, call_ref: str) -> None: ...

    def send_dtmf(self, *, call_ref: str, digits: str) -> None: ...

    def transfer(self, *, call_ref: str, destination: str) -> None: ...

    def conference(self, *, call_ref: str, destination: str) -> None: ...

    def consult(self, *, call_ref: str, destination: str) -> None: ...

    def end_consult(self, *, call_ref: str) -> None: ...

    def monitor(self, *, call_ref: str, supervisor: str, mode: str) -> None:
        """A supervisor (a user id) listens to the call, whispers to its agent or barges in (`mode`); a new mode on a
        monitored call switches it, on the same connection."""

    def end_monitor(self, *, call_ref: str, supervisor: str) -> None:
        """The supervisor is off the call; the call goes on as it was."""

    # Recording both parties of a call (docs/recording.md). Each command gets, and returns, what the switch needs to
    # go on with that call's recording (Ringback keeps it on the recording between commands).
    def start_recording(self, *, call_ref: str, state: dict) -> dict: ...

    def pause_recording(self, *, call_ref: str, state: dict) -> dict:
        """Nothing of what follows is recorded (the customer reads out a card number) until resumed."""

    def resume_recording(self, *, call_ref: str, state: dict) -> dict: ...

    def stop_recording(self, *, call_ref: str, state: dict, into: Path, paused: list, seconds: float) -> dict:
        """Stop, and write the call's recording into `into`: a two-channel WAV (`telephony.audio`). `paused` (the
        stretches the agent paused, in seconds from the start) and `seconds` are what Ringback saw. Returns
        {"seconds": its length, "paused": [[from, to], …] as the audio has them}."""

    def tick(self) -> None:
        """Called by the dispatcher's clock; a real connector may do nothing."""

    def customer_link(self, *, call_ref: str) -> str | None:
        """A page where a person can play the customer (simulator only)."""


@cache
def telephony() -> Telephony:
    return import_string(settings.RINGBACK_TELEPHONY)()
