"""The voice application: a baresip that Ringback drives (`manage.py voice`), answering calls to the queues'
entry numbers with the callback menu.

Why baresip driven over ctrl_tcp (and not PJSUA2): baresip is a Debian package the SIP tests already run; it plays
WAV files into a call (aufile), reports RFC 4733 and SIP INFO keys as events, and runs several user agents in one
process. PJSUA2's Python binding has no wheel for this Python (3.13) and builds PJSIP from source.

How a call goes:
1. kamailio asks Ringback which line takes a call to an entry number (`/sip/entry`): that opens the call's
   `VoiceSession`, stamped with its arrival, on a free line `ivr-N`, and kamailio sends the call to that line.
2. Each line is a user agent of this baresip, registered at kamailio as `ivr-N` with credentials Ringback issued.
   A line takes one call at a time: baresip switches the audio source of a user agent's calls together, so one
   call per user agent keeps each caller's prompts their own.
3. The application answers, and plays each prompt by switching that line's audio source to a WAV file (words,
   then silence long enough that the file never runs out: baresip ends a call whose file does). Keys come back
   as events; silences are the application's own timers.
4. Booking, keeping or cancelling goes through `lifecycle.voice`; the end of the call frees the line.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import phonenumbers
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from .. import calendars, intake_schema, lifecycle
from ..enums import ACTIVE_CALL_STATES, CallbackState, CallOutcome, Channel
from ..errors import DomainError, Invalid
from ..lifecycle.voice import dial_in_callback_of, open_callback_of, open_session, voice_lines
from ..models import Call, VoiceSession
from ..presenters.schedule import line_estimate
from ..telephony import SwitchEvent
from ..telephony.sip import credentials
from ..telephony.sip.softphone import outcome_of
from . import prompts
from .control import Control
from .menu import Facts, Menu, Say

log = logging.getLogger("callbacks.voice")

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
MODULES = "/usr/lib/baresip/modules"
CREDENTIAL_HOURS = 24 * 366  # the lines' SIP credentials: issued again at every start of the application
SLOTS_OFFERED = 3
HANG_UP_MARGIN = 0.6  # seconds after the last words before the line hangs up

CONFIG = """\
poll_method epoll
sip_listen 127.0.0.1:{sip_port}
net_interface 127.0.0.1
audio_source aufile,{silence}
audio_player alsa,null
audio_alert alsa,null
ausrc_srate 8000
ausrc_channels 1
auplay_srate 8000
auplay_channels 1
module_path {modules}
module g711.so
module aufile.so
module alsa.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{ctrl_port}
call_max_calls {max_calls}
"""


@dataclass
class Caller:
    """A call on one of the lines (one call per line)."""

    line: str
    aor: str
    session_id: int
    session_ref: str  # the session's call_id: the SIP Call-ID of a call in, a reference of Ringback's for a call out
    language: str
    wait: float
    outbound: bool = False
    call_id: str = ""  # the SIP Call-ID, from baresip's first event about the call
    established: bool = False
    menu: Menu | None = None
    deadline: float = 0.0  # when the wait for a key (or, calling out, for an answer) runs out
    hang_at: float = 0.0  # when the last words are said and the line hangs up
    hold_until: float = 0.0  # customer first: the customer pressed 1 and waits for an agent until then
    handing_over: bool = False  # the REFER towards the agent is sent
    settled: bool = False  # calling out: the outcome is written
    dialled_in: bool = False  # a customer told to call in (GMS USERORIGINATED), on the line for an agent


def line_of(aor: str) -> str:
    return aor.removeprefix("sip:").split("@", 1)[0]


SIP_CODE = re.compile(r"^\s*([1-6][0-9][0-9])\b")


def unreached_outcome(param: str) -> str:
    """Why a call out ended before it was answered, from baresip's CALL_CLOSED text (the SIP code, never words)."""
    match = SIP_CODE.match(param or "")
    event = outcome_of("failed", int(match.group(1)) if match else None)
    return {SwitchEvent.BUSY: CallOutcome.BUSY, SwitchEvent.NO_ANSWER: CallOutcome.NO_ANSWER}.get(event, CallOutcome.FAILED)


class VoiceApp:
    DIAL_EVERY = 1.0  # seconds between two looks for a customer to call first
    POLL_EVERY = 0.3  # seconds between two looks at whether an agent took a customer on hold

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.events: queue.Queue[dict] = queue.Queue()
        self.callers: dict[str, Caller] = {}  # by line
        self.control: Control | None = None
        self.process: subprocess.Popen | None = None
        self.running = True
        self.next_dial = self.next_poll = 0.0

    # -- start and stop ------------------------------------------------------------------------------------------

    def write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        silence, _ = prompts.utterance("en", [], silence=600)
        (self.workdir / "config").write_text(
            CONFIG.format(
                sip_port=settings.RINGBACK_VOICE_SIP_PORT,
                ctrl_port=settings.RINGBACK_VOICE_CONTROL_PORT,
                silence=silence,
                modules=MODULES,
                max_calls=2 * len(voice_lines()),
            )
        )
        domain, proxy = settings.RINGBACK_SIP_DOMAIN, f"{settings.RINGBACK_SIP_ADDRESS}:{settings.RINGBACK_SIP_PORT}"
        # Through the proxy's address when the SIP domain names another host (its DNS may not lead here).
        outbound = f';outbound="sip:{proxy};transport=udp"' if domain != settings.RINGBACK_SIP_ADDRESS else ""
        accounts = []
        for line in voice_lines():
            c = credentials(line, hours=CREDENTIAL_HOURS)
            accounts.append(
                f"<sip:{line}@{domain};transport=udp>;auth_user={c['username']};auth_pass={c['password']}"
                f"{outbound};regint=600;answermode=manual"
            )
        accounts_file = self.workdir / "accounts"
        accounts_file.write_text("\n".join(accounts) + "\n")
        accounts_file.chmod(0o600)  # the lines' credentials
        (self.workdir / "contacts").write_text("")

    def start(self) -> None:
        count = prompts.prepare()
        log.info("voice: %s clips ready in %s", count, prompts.folder())
        self.write_config()
        lifecycle.do_free_voice_lines()
        logfile = open(self.workdir / "baresip.log", "ab")  # noqa: SIM115 - baresip's output, for as long as it runs
        self.process = subprocess.Popen([BARESIP, "-f", str(self.workdir)], stdout=logfile, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", settings.RINGBACK_VOICE_CONTROL_PORT), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"baresip did not start: see {self.workdir / 'baresip.log'}") from None
                time.sleep(0.1)
        self.control = Control(settings.RINGBACK_VOICE_CONTROL_PORT, "voice", on_event=self.events.put).connect()
        lines, deadline = len(voice_lines()), time.monotonic() + 30
        while (registered := self.registered()) < lines and time.monotonic() < deadline:
            time.sleep(0.2)
        log.info("voice: ready, %s of %s lines registered on 127.0.0.1:%s", registered, lines, settings.RINGBACK_VOICE_SIP_PORT)

    def registered(self) -> int:
        """How many lines the proxy has registered (baresip's registration status, one line per user agent)."""
        status = self.control.command("reginfo").get("data", "")
        return sum(1 for row in status.splitlines() if "ivr-" in row and "OK" in row)

    def stop(self) -> None:
        self.running = False
        if self.control is not None:
            self.control.close()
        if self.process is not None and self.process.poll() is None:
            # baresip unregisters its lines on SIGTERM; it may wait on answers that never come, and a second SIGTERM
            # makes it exit at once.
            for signal_and_wait in (1, 4):
                self.process.terminate()
                try:
                    self.process.wait(signal_and_wait)
                    return
                except subprocess.TimeoutExpired:
                    continue
            self.process.kill()

    def run(self) -> None:
        self.start()
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "running", False))
        try:
            while self.running:
                if self.process.poll() is not None:
                    raise RuntimeError("baresip stopped")
                try:
                    event = self.events.get(timeout=0.1)
                except queue.Empty:
                    event = None
                close_old_connections()
                if event is not None:
                    self.handle(event)
                self.tick(time.monotonic())
        finally:
            self.stop()

    # -- events --------------------------------------------------------------------------------------------------

    def handle(self, event: dict) -> None:
        kind = event.get("type")
        if kind in ("REGISTER_OK", "REGISTER_FAIL"):
            log.info("voice: %s %s %s", event.get("accountaor"), kind, event.get("param", ""))
            return
        line = line_of(event.get("accountaor", ""))
        caller = self.callers.get(line)
        try:
            if kind == "CALL_INCOMING":
                self.incoming(event)
            elif caller is None:
                return
            elif kind in ("CALL_RINGING", "CALL_PROGRESS"):
                caller.call_id = event.get("id", "")
            elif kind == "CALL_ESTABLISHED":
                caller.call_id = event.get("id", "")
                self.established(caller)
            elif kind == "CALL_DTMF_START":
                self.pressed(caller, str(event.get("param", ""))[:1])
            elif kind == "TRANSFER_FAILED":
                log.warning("voice: %s could not hand the customer over: %s", line, event.get("param", ""))
            elif kind == "CALL_CLOSED":
                self.closed(caller, str(event.get("param", "")))
        except Exception:  # one call's failure never stops the lines: that caller hears goodbye
            log.exception("voice: %s on %s failed", kind, line)
            if caller is not None and caller.hang_at == 0 and kind != "CALL_CLOSED":
                lifecycle.do_settle_voice(session_id=caller.session_id, outcome="failed")
                self.say(caller, Say(["goodbye_short"], hang_up=True))

    def on_call(self, caller: Caller, command: str, params: str = "") -> None:
        """A command for one call: its user agent (and its call, once known) made current first (baresip's commands
        act on the current ones)."""
        self.control.command("uafind", caller.aor)
        if caller.call_id:
            self.control.command("callfind", caller.call_id)
        self.control.command(command, params)

    def incoming(self, event: dict) -> None:
        aor, call_id = event.get("accountaor", ""), event.get("id", "")
        line = line_of(aor)
        session = open_session(line, call_id)
        if session is None or line in self.callers:  # not a call kamailio gave this line: refused
            log.warning("voice: a call on %s that Ringback did not send there refused", line)
            self.control.command("uafind", aor)
            self.control.command("callfind", call_id)
            self.control.command("hangup")
            return
        caller = Caller(line, aor, session.pk, session.call_id, session.language, float(session.queue.menu_wait_seconds))
        caller.call_id = call_id
        self.callers[line] = caller
        self.on_call(caller, "accept")

    def dial_next(self) -> None:
        """Customer first: call the next customer a queue has to call, if any."""
        session = lifecycle.do_dial_next_customer()
        if session is None:
            return
        aor = f"sip:{session.line}@{settings.RINGBACK_SIP_DOMAIN}"
        queue_ = session.queue
        caller = Caller(
            session.line, aor, session.pk, session.call_id, session.language, float(queue_.menu_wait_seconds), outbound=True
        )
        caller.deadline = time.monotonic() + queue_.ring_seconds
        self.callers[session.line] = caller
        log.info("voice: %s calls a customer of %s first", session.line, queue_.name)
        self.control.command("uafind", aor)
        self.control.command("dial", f"sip:{session.dialled}@{settings.RINGBACK_SIP_DOMAIN}")

    def facts(self, session: VoiceSession) -> Facts:
        now = timezone.now()
        queue_ = session.queue
        spec = calendars.spec_for(queue_)
        opens = None if calendars.is_open(spec, now) else calendars.next_open(spec, now)
        existing = open_callback_of(session) if session.direction == "in" else None
        slots = []
        if queue_.menu_offers_times:
            found = calendars.free_slots(
                queue_, now + timedelta(minutes=5), now + timedelta(days=7), excluding=session.callback_id
            )
            slots = [s.start.astimezone(spec.zone) for s in found[:SLOTS_OFFERED]]
        _, wait = line_estimate(queue_, Channel.VOICE, now, enqueued=session.arrived_at)
        region = phonenumbers.region_code_for_number(phonenumbers.parse(session.dialled)) or ""
        return Facts(
            queue_name=queue_.name,
            language=session.language,
            caller=session.dialled if session.direction == "out" else session.caller,
            now=now.astimezone(spec.zone),
            wait_seconds=wait,
            opens_at=opens.astimezone(spec.zone) if opens else None,
            has_existing=existing is not None,
            # A scheduled one is due at its time; one already in line is due as soon as possible.
            existing_due=(
                existing.desired_time.astimezone(spec.zone)
                if existing is not None and existing.state == CallbackState.SCHEDULED and existing.desired_time
                else None
            ),
            existing_in_progress=existing is not None and existing.state == CallbackState.IN_PROGRESS,
            slots=slots,
            offers_times=queue_.menu_offers_times,
            region=region,
            returning=session.direction == "out",
            dials_in=session.direction == "in" and dial_in_callback_of(session) is not None,
            keypad=[(name, info.title or name) for name, info in intake_schema.keypad_fields().items()],
        )

    def established(self, caller: Caller) -> None:
        caller.established = True
        if caller.outbound:
            lifecycle.do_customer_answered(session_id=caller.session_id)
        session = VoiceSession.objects.select_related("queue").get(pk=caller.session_id)
        caller.menu = Menu(
            self.facts(session),
            book=lambda number, when, fields: self.book(caller, number, when, fields),
            cancel=lambda: self.cancel(caller),
            settle=lambda outcome: lifecycle.do_settle_voice(session_id=caller.session_id, outcome=outcome),
            on_line=lambda: self.on_line(caller, session.queue.customer_hold_seconds),
            unreached=lambda: self.unreached(caller, CallOutcome.NO_ANSWER),
        )
        self.say(caller, caller.menu.start())

    def pressed(self, caller: Caller, key: str) -> None:
        if caller.menu is None or not key or key not in "0123456789*#":
            return
        said = caller.menu.key(key)
        if said is not None:
            self.say(caller, said)
        elif caller.hang_at == 0 and not caller.hold_until:
            caller.deadline = time.monotonic() + caller.wait  # keying a number: each key gives the caller more time

    def closed(self, caller: Caller, why: str) -> None:
        self.callers.pop(caller.line, None)
        if caller.dialled_in and not caller.settled:
            if caller.handing_over and "transfer" in why.lower():
                lifecycle.do_customer_handed_over(session_id=caller.session_id)
            elif caller.handing_over:
                self.handover_failed(caller, why)
            else:  # hung up before an agent took them: they may call in again
                lifecycle.do_customer_left_line(session_id=caller.session_id)
        elif caller.outbound and not caller.settled:
            if not caller.established:
                self.unreached(caller, unreached_outcome(why))
            elif caller.handing_over and "transfer" in why.lower():
                lifecycle.do_customer_handed_over(session_id=caller.session_id)
            elif caller.handing_over:
                self.handover_failed(caller, why)
            else:  # the customer hung up before an agent took them
                self.unreached(caller, CallOutcome.NO_ANSWER)
        lifecycle.do_end_voice_session(line=caller.line, call_id=caller.session_ref)

    def tick(self, now: float) -> None:
        if now >= self.next_dial:
            self.next_dial = now + self.DIAL_EVERY
            if len(self.callers) < len(voice_lines()):
                self.dial_next()
        holding = [c for c in self.callers.values() if c.hold_until and not c.handing_over]
        if holding and now >= self.next_poll:
            self.next_poll = now + self.POLL_EVERY
            taken = dict(
                VoiceSession.objects.filter(pk__in=[c.session_id for c in holding])
                .exclude(refer_to="")
                .values_list("pk", "refer_to")
            )
            for caller in holding:
                if caller.session_id in taken:
                    caller.handing_over = True
                    log.info("voice: %s hands the customer to %s", caller.line, taken[caller.session_id])
                    self.on_call(caller, "transfer", f"sip:{taken[caller.session_id]}@{settings.RINGBACK_SIP_DOMAIN}")
        for caller in list(self.callers.values()):
            if caller.hang_at and now >= caller.hang_at:
                caller.hang_at = float("inf")  # once
                self.on_call(caller, "hangup")
            elif caller.outbound and not caller.established and caller.deadline and now >= caller.deadline:
                caller.deadline = 0  # rang for the queue's ring time: no answer
                self.unreached(caller, CallOutcome.NO_ANSWER)
                self.on_call(caller, "hangup")
            elif caller.hold_until and not caller.handing_over and not caller.hang_at and now >= caller.hold_until:
                caller.hold_until = 0
                when = lifecycle.do_customer_hold_expired(session_id=caller.session_id)
                if when is not None:
                    caller.settled = True
                    spec = calendars.spec_for(VoiceSession.objects.select_related("queue").get(pk=caller.session_id).queue)
                    self.say(caller, caller.menu.apologise(when.astimezone(spec.zone)))
                else:
                    caller.hold_until = now + self.POLL_EVERY  # an agent took them meanwhile: the REFER follows
            elif caller.menu is not None and not caller.hang_at and caller.deadline and now >= caller.deadline:
                caller.deadline = 0
                said = caller.menu.silence()
                if said is not None:
                    self.say(caller, said)

    # -- what the menu asks for ------------------------------------------------------------------------------------

    def say(self, caller: Caller, said: Say) -> None:
        log.info("voice: %s says %s%s", caller.line, " ".join(said.parts), " (then hangs up)" if said.hang_up else "")
        path, spoken = prompts.utterance(caller.language, said.parts, silence=caller.wait + 30)
        if caller.hold_until:  # holding for an agent: words, then silence for as long as the hold lasts
            path, spoken = prompts.utterance(caller.language, said.parts, silence=caller.hold_until - time.monotonic() + 30)
        self.control.command("uafind", caller.aor)
        self.control.command("ausrc", f"aufile,{path}")
        if said.hang_up:
            caller.hang_at = time.monotonic() + spoken + HANG_UP_MARGIN
        elif not caller.hold_until:
            caller.deadline = time.monotonic() + spoken + caller.wait

    def book(self, caller: Caller, number: str, when, fields: dict[str, str]) -> str | None:
        try:
            if caller.outbound:
                lifecycle.do_move_from_voice(session_id=caller.session_id, when=when)
                caller.settled = True
            else:
                lifecycle.do_book_from_voice(session_id=caller.session_id, number=number, when=when, fields=fields)
        except (Invalid, DomainError) as refusal:
            log.info("voice: booking refused: %s", refusal)
            if isinstance(refusal, Invalid) and refusal.field in intake_schema.keypad_fields():
                return f"field:{refusal.field}"
            return "invalid"
        return None

    def cancel(self, caller: Caller) -> str | None:
        try:
            lifecycle.do_cancel_from_voice(session_id=caller.session_id)
        except DomainError:
            return "existing_busy"
        return None

    def on_line(self, caller: Caller, hold_seconds: int) -> bool:
        if caller.outbound:
            if not lifecycle.do_customer_on_line(session_id=caller.session_id):
                return False
        elif lifecycle.do_customer_dialled_in(session_id=caller.session_id):
            caller.dialled_in = True
        else:
            return False
        caller.hold_until = time.monotonic() + hold_seconds
        return True

    def unreached(self, caller: Caller, outcome: str) -> None:
        if not caller.settled:
            caller.settled = True
            lifecycle.do_customer_unreached(session_id=caller.session_id, outcome=outcome)

    def handover_failed(self, caller: Caller, why: str) -> None:
        """The REFER towards the agent failed (baresip 1.0.0 then hangs up the customer): the agent's call ends."""
        caller.settled = True
        call = Call.objects.filter(callback_id=caller_callback(caller), state__in=ACTIVE_CALL_STATES).first()
        if call is not None:
            lifecycle.do_switch_event(call_ref=call.switch_ref, event=SwitchEvent.FAILED)
        log.warning("voice: %s: the customer could not be handed over (%s)", caller.line, why)


def caller_callback(caller: Caller) -> int | None:
    return VoiceSession.objects.filter(pk=caller.session_id).values_list("callback_id", flat=True).first()


def workdir() -> Path:
    return Path(settings.RINGBACK_VOICE_DIR) / f"baresip-{os.getpid()}"
