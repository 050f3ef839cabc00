"""The browser softphone adapter (`RINGBACK_TELEPHONY = "callbacks.telephony.sip.softphone.BrowserSoftphone"`).

The agent's page is the phone. Ringback does not send it commands: the page reconciles. Every render of the
interaction says which call the agent has and in which state (Dialing, Connected, On Hold, Ended), with its
reference; the page's softphone (static/js/softphone.js, JsSIP) makes its SIP session match: it dials a Dialing
call it has no session for (the INVITE carries `X-Ringback-Call: <reference>`), holds and resumes with
re-INVITEs, and hangs up an ended one (a CANCEL while it rings, a BYE once answered). A lost push or a
reconnecting socket cannot lose a command: the next render says the same. One-shot actions (DTMF) are sent by
the page when the agent clicks, and recorded by Ringback as before. Transfers to a number are carried out on the
line (`transfers_on_the_line`): Ringback waits for the REFER's verdict before closing the agent's window.

What happened on the line comes back twice, and either is enough: the page reports its session's progress
(`/softphone/events/`), and kamailio reports each dialog's start, end and failure (`/sip/events`, on its private channel), which
keeps the truth when the tab is closed mid-call. Both go through `outcome_of` and `do_switch_event`, which
ignores what it already knows.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings

from ...models import LineReport
from .. import SwitchEvent
from . import recording

BUSY_CODES = frozenset({486, 600, 603})
NO_ANSWER_CODES = frozenset({408, 480, 487})


def outcome_of(event: str, code: int | None = None) -> SwitchEvent | None:
    """A SIP session's event (and its final response code, a number, never the reason's words) as a switch event.

    started/answered → answered; ringing → ringing; ended → remote hang-up, hungup (the agent's browser sent the
    BYE) → the agent's phone hung up (Ringback ignores either for a call it already ended itself); failed: 486/600/603 busy, 408/480 (or 487 after Ringback's own CANCEL) no answer,
    any other code failed.
    """
    if event in ("started", "answered"):
        return SwitchEvent.ANSWERED
    if event == "ringing":
        return SwitchEvent.RINGING
    if event == "ended":
        return SwitchEvent.REMOTE_HANGUP
    if event == "hungup":  # the proxy saw the agent's browser send the BYE: Ringback did not ask (a closed tab)
        return SwitchEvent.AGENT_PHONE_HANGUP
    if event == "failed":
        if code in BUSY_CODES:
            return SwitchEvent.BUSY
        if code in NO_ANSWER_CODES:
            return SwitchEvent.NO_ANSWER
        return SwitchEvent.FAILED
    return None


SPOOL_WAIT_SECONDS = 5.0  # for rtpengine to close a recording's last segment


def dialog_of(call_ref: str) -> str:
    """The SIP Call-ID of the call's dialog, from kamailio's report that it started ("proxy:<Call-ID>:started")."""
    report = LineReport.objects.filter(call_ref=call_ref, source=LineReport.Source.PROXY, event="started").first()
    if report is None:
        return ""
    return report.report_id.removeprefix("proxy:").removesuffix(":started")


def _ports(state: dict) -> dict:
    return {int(port): recording.Party(party) for port, party in state["ports"].items()}


class BrowserSoftphone:
    """Nothing to send: the page reconciles its SIP sessions with what each render says (see the module)."""

    transfers_on_the_line = True  # the page REFERs the customer's phone and reports the NOTIFYs' verdict

    def dial(self, *, call_ref: str, number: str, caller_id: str = "", caller_name: str = "") -> None:
        pass  # the page dials; kamailio asks Ringback for the caller ID (`proxy_caller_id`)

    def hang_up(self, *, call_ref: str) -> None:
        pass

    def hold(self, *, call_ref: str) -> None:
        pass

    def resume(self, *, call_ref: str) -> None:
        pass

    def send_dtmf(self, *, call_ref: str, digits: str) -> None:
        pass  # the page sent them (RFC 4733) when the agent clicked

    def transfer(self, *, call_ref: str, destination: str) -> None:
        pass

    def conference(self, *, call_ref: str, destination: str) -> None:
        pass

    def consult(self, *, call_ref: str, destination: str) -> None:
        pass

    def end_consult(self, *, call_ref: str) -> None:
        pass

    def monitor(self, *, call_ref: str, supervisor: str, mode: str) -> None:
        pass  # the supervisor's page calls the agent's with the session's token; the agent's page mixes for `mode`

    def end_monitor(self, *, call_ref: str, supervisor: str) -> None:
        pass  # the supervisor's page hangs its call up (or the agent's page, once its window no longer shows it)

    # Recording happens in rtpengine, which carries every call of the browser softphone (`sip.recording`); it knows
    # the call by the SIP Call-ID of the agent's INVITE, which kamailio's report of the dialog named.
    def start_recording(self, *, call_ref: str, state: dict) -> dict:
        call_id = state.get("call_id") or dialog_of(call_ref)
        if not call_id:
            raise OSError("kamailio has not reported this call's dialog yet")  # the effect tries again shortly
        ports = recording.start(call_id, call_ref)
        return {"call_id": call_id, "ports": {str(p): party.value for p, party in ports.items()}}

    def pause_recording(self, *, call_ref: str, state: dict) -> dict:
        recording.pause(state["call_id"], call_ref, _ports(state))
        return state

    def resume_recording(self, *, call_ref: str, state: dict) -> dict:
        recording.resume(state["call_id"], call_ref, _ports(state))
        return state

    def stop_recording(self, *, call_ref: str, state: dict, into: Path, paused: list, seconds: float) -> dict:
        """Close the last segment, wait for rtpengine to finish every segment's file, convert them into one WAV and
        take them out of the spool."""
        folder = Path(settings.RINGBACK_RTPENGINE_RECORDING_DIR)
        call_id = state["call_id"]
        recording.stop(call_id, call_ref, _ports(state))
        expected = 1 + len(paused)  # a pause closed a segment, a resume opened the next
        deadline = time.monotonic() + SPOOL_WAIT_SECONDS
        while len(recording.segments(folder, call_id)) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        made = recording.convert(folder, call_id, into)
        recording.discard(folder, call_id)
        return {"seconds": made.duration, "paused": [list(p) for p in made.paused]}

    def tick(self) -> None:
        pass

    def customer_link(self, *, call_ref: str) -> str | None:
        return None
