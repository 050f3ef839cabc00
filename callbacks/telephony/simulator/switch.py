"""A simulated switch with deterministic outcomes, for tests and demos.

Outcome by the last digits of the dialled number (E.164):

    …0001  busy after 1 s               …0003  answering machine after 2 s
    …0002  no answer after 4 s          …0004  failed at once
    …001N  answered by itself after N seconds (N = 1…9)
    anything else rings until someone answers on the customer phone page
    (/sim/phone/<token>/), or "no answer" after SIM_NO_ANSWER_SECONDS (30 s).

Progress runs on real timers: each pending event has a due time, fired by
the dispatcher's clock (so a test moves time with time-machine, and a
restart loses nothing).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from callbacks.lifecycle.calls import do_switch_event

from .. import SwitchEvent, audio
from .models import Line, SimCall


def planned_outcome(number: str) -> tuple[str, float]:
    """(event, seconds until it happens) for a dialled number."""
    tail = number[-4:]
    fixed = {
        "0001": (SwitchEvent.BUSY, 1),
        "0002": (SwitchEvent.NO_ANSWER, 4),
        "0003": (SwitchEvent.ANSWERING_MACHINE, 2),
        "0004": (SwitchEvent.FAILED, 0),
    }
    if tail in fixed:
        return fixed[tail]
    if tail[:3] == "001" and tail[3] != "0":
        return SwitchEvent.ANSWERED, int(tail[3])
    return SwitchEvent.NO_ANSWER, getattr(settings, "SIM_NO_ANSWER_SECONDS", 30)


def _report(call_ref: str, event: str, digits: str = "") -> None:
    do_switch_event(call_ref=call_ref, event=event, digits=digits)


class SimulatedSwitch:
    transfers_on_the_line = False  # a transfer is done the moment Ringback asks

    def dial(self, *, call_ref: str, number: str, caller_id: str = "", caller_name: str = "") -> None:
        """Place the call, presenting the caller ID it was given (recorded: the customer's page shows it). The call
        reference is the idempotency key: a second dial of it does nothing."""
        event, seconds = planned_outcome(number)
        shown = f"{caller_name} <{caller_id}>" if caller_name and caller_id else caller_id
        SimCall.objects.get_or_create(
            call_ref=call_ref,
            defaults={
                "token": secrets.token_urlsafe(16),
                "number": number,
                "caller_id": shown[:80],
                "next_event": event,
                "due_at": timezone.now() + timedelta(seconds=seconds),
                "log": [f"dial {number}{f' as {shown}' if shown else ''}: {event} in {seconds:g} s"],
            },
        )

    def _update(self, call_ref: str, **fields) -> None:
        sim = SimCall.objects.filter(call_ref=call_ref).first()
        if sim is None:
            return
        note = fields.pop("note", None)
        for k, v in fields.items():
            setattr(sim, k, v)
        if note:
            sim.log = [*sim.log, note][-50:]
        sim.save()

    def hang_up(self, *, call_ref: str) -> None:
        self._update(call_ref, line=Line.ENDED, next_event="", due_at=None, note="agent hung up")

    def hold(self, *, call_ref: str) -> None:
        self._update(call_ref, line=Line.ON_HOLD, note="on hold")

    def resume(self, *, call_ref: str) -> None:
        self._update(call_ref, line=Line.CONNECTED, note="resumed")

    def send_dtmf(self, *, call_ref: str, digits: str) -> None:
        sim = SimCall.objects.filter(call_ref=call_ref).first()
        if sim:
            self._update(call_ref, keyed_by_agent=(sim.keyed_by_agent + digits)[-200:], note=f"agent keyed {digits}")

    def transfer(self, *, call_ref: str, destination: str) -> None:
        self._update(call_ref, note=f"transferred to {destination}")

    def conference(self, *, call_ref: str, destination: str) -> None:
        self._update(call_ref, note=f"conference with {destination}")

    def consult(self, *, call_ref: str, destination: str) -> None:
        self._update(call_ref, note=f"consulting {destination}")

    def end_consult(self, *, call_ref: str) -> None:
        self._update(call_ref, note="consultation ended")

    def monitor(self, *, call_ref: str, supervisor: str, mode: str) -> None:
        """The simulated line carries the supervisor too: what each party would hear is written in the call's log
        (the customer's phone page shows it)."""
        hears = {
            "listen": "supervisor hears customer and agent; nobody hears the supervisor",
            "whisper": "supervisor hears customer and agent; the agent hears the supervisor, the customer does not",
            "barge": "supervisor, agent and customer all hear each other",
        }[mode]
        self._update(call_ref, note=f"supervisor {supervisor} {mode}: {hears}")

    def end_monitor(self, *, call_ref: str, supervisor: str) -> None:
        self._update(call_ref, note=f"supervisor {supervisor} left the call")

    def start_recording(self, *, call_ref: str, state: dict) -> dict:
        self._update(call_ref, note="recording")
        return state

    def pause_recording(self, *, call_ref: str, state: dict) -> dict:
        self._update(call_ref, note="recording paused")
        return state

    def resume_recording(self, *, call_ref: str, state: dict) -> dict:
        self._update(call_ref, note="recording resumed")
        return state

    def stop_recording(self, *, call_ref: str, state: dict, into: Path, paused: list, seconds: float) -> dict:
        """Tones for the call's length (at most SIM_RECORDING_SECONDS), silent where the agent paused."""
        recording = audio.synthetic(min(seconds, getattr(settings, "SIM_RECORDING_SECONDS", 120)), paused)
        audio.write_wav(into, recording, call=call_ref)
        return {"seconds": recording.duration, "paused": [list(p) for p in recording.paused]}

    def tick(self) -> None:
        """Fire the events whose time has come."""
        with transaction.atomic():
            due = list(
                SimCall.objects.select_for_update(skip_locked=True)
                .filter(due_at__lte=timezone.now())
                .exclude(next_event="")[:100]
            )
            fired = []
            for sim in due:
                fired.append((sim.call_ref, sim.next_event))
                sim.line = Line.CONNECTED if sim.next_event == SwitchEvent.ANSWERED else Line.ENDED
                sim.log = [*sim.log, f"{sim.next_event}"][-50:]
                sim.next_event, sim.due_at = "", None
                sim.save()
        for call_ref, event in fired:
            _report(call_ref, event)

    def customer_link(self, *, call_ref: str) -> str | None:
        sim = SimCall.objects.filter(call_ref=call_ref).only("token").first()
        return reverse("sim_phone", args=[sim.token]) if sim else None

    # --- The customer's side (the customer phone page) -----------------------

    def customer_answers(self, sim: SimCall) -> None:
        if sim.line != Line.RINGING:
            return
        self._update(sim.call_ref, line=Line.CONNECTED, next_event="", due_at=None, note="customer answered")
        _report(sim.call_ref, SwitchEvent.ANSWERED)

    def customer_hangs_up(self, sim: SimCall) -> None:
        if sim.line == Line.ENDED:
            return
        was_ringing = sim.line == Line.RINGING
        self._update(sim.call_ref, line=Line.ENDED, next_event="", due_at=None, note="customer hung up")
        # Declining a ringing call is what a busy customer does.
        _report(sim.call_ref, SwitchEvent.BUSY if was_ringing else SwitchEvent.REMOTE_HANGUP)

    def customer_keys(self, sim: SimCall, digits: str) -> None:
        if sim.line != Line.CONNECTED:
            return
        self._update(sim.call_ref, note=f"customer keyed {digits}")
        _report(sim.call_ref, SwitchEvent.DTMF, digits)
