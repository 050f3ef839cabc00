"""A real SIP stack on 127.0.0.1 for the softphone's tests and demo: kamailio, rtpengine, and baresip "lines"
(customers, carriers, desk phones) driven over ctrl_tcp.

Everything listens on loopback. Browsers only offer loopback ICE candidates inside a network namespace whose
only interface is `lo` (see `in_private_network`); kamailio, rtpengine and baresip run anywhere.
"""

from __future__ import annotations

import array
import math
import os
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

from callbacks.voice.control import Control

from .cluster import Service, stop_all
from .common import ROOT, wait_port

KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"
TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
RTPENGINE = shutil.which("rtpengine") or "/usr/bin/rtpengine"
BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
BARESIP_MODULES = "/usr/lib/baresip/modules"
# baresip answers SIGTERM by unregistering and waits for answers that may never come: a test's lines get this long,
# then SIGKILL (what they heard was read while they ran). kamailio and rtpengine are gone well within it.
BARESIP_GRACE = 5

BARESIP_CONFIG = """\
poll_method epoll
sip_listen 127.0.0.1:{sip_port}
net_interface 127.0.0.1
audio_source ausine,{tone}
audio_player alsa,null
audio_alert alsa,null
ausrc_srate 48000
ausrc_channels 2
auplay_srate 48000
auplay_channels 2
module_path {modules}
module g711.so
module ausine.so
module alsa.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{ctrl_port}
call_max_calls 4
{extra}"""

# A line that keeps what it hears: baresip's sndfile module writes each call's received audio to a WAV file.
RECORDING = "module sndfile.so\nsnd_path {folder}/\n"


def sip_available() -> bool:
    return all(Path(p).exists() for p in (KAMAILIO, RTPENGINE, BARESIP, TURNSERVER))


class Line:
    """One baresip endpoint (a customer's phone): registered at kamailio as `number`, answering as told."""

    def __init__(
        self,
        workdir: Path,
        number: str,
        credentials: dict,
        sip_port: int,
        ctrl_port: int,
        tone: int = 440,
        registrar: str = "",
        record: bool = False,
    ):
        self.number, self.ctrl_port = number, ctrl_port
        self.dir = workdir / f"baresip-{number.lstrip('+')}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.heard = self.dir / "heard"
        extra = ""
        if record:
            self.heard.mkdir(exist_ok=True)
            extra = RECORDING.format(folder=self.heard)
        (self.dir / "config").write_text(
            BARESIP_CONFIG.format(sip_port=sip_port, ctrl_port=ctrl_port, tone=tone, modules=BARESIP_MODULES, extra=extra)
        )
        account = (
            f"<sip:{number}@{registrar or '127.0.0.1'};transport=udp>;auth_user={credentials['username']};"
            f"auth_pass={credentials['password']};regint=600;answermode=manual"
        )
        (self.dir / "accounts").write_text(account + "\n")
        (self.dir / "contacts").write_text("")
        self.service = Service(
            f"baresip:{number}", [BARESIP, "-f", str(self.dir), "-s"], dict(os.environ), self.dir / "log", ctrl_port
        )
        self.control = Control(ctrl_port, f"baresip {number}", on_event=self._handle)
        self.answer_mode = "manual"  # "auto": answer, "busy": hang up while ringing, "manual": let it ring

    @property
    def events(self) -> list[dict]:
        return self.control.events

    @property
    def sock(self):
        return self.control.sock

    def start(self) -> Line:
        self.service.start()
        self.service.wait_ready(15)
        self.control.connect()
        return self

    def _handle(self, message: dict) -> None:
        if message.get("type") == "CALL_INCOMING":
            # Not waited on: this is the reader thread, which the answer must come through.
            if self.answer_mode == "auto":
                self.send("accept")
            elif self.answer_mode == "busy":
                self.send("hangup")

    def send(self, command: str, params: str = "") -> str:
        """Send a ctrl_tcp command (netstring-framed JSON); its token."""
        return self.control.send(command, params)

    def command(self, command: str, params: str = "", timeout: float = 5) -> dict:
        """Send a command and wait for its answer."""
        return self.control.command(command, params, timeout)

    def seen(self, kind: str) -> list[dict]:
        return self.control.seen(kind)

    def wait_for(self, kind: str, timeout: float = 20) -> dict:
        return self.wait_for_count(kind, 1, timeout)[-1]

    def heard_energy(self) -> float:
        """The loudness (RMS of 16-bit samples, 0 = silence) of what the line heard on its last call (a line started
        with `record`)."""
        files = sorted(self.heard.glob("*-dec.wav"))
        if not files:
            return 0.0
        with wave.open(str(files[-1])) as heard:
            frames = heard.readframes(heard.getnframes())
        samples = array.array("h", frames)
        return math.sqrt(sum(x * x for x in samples) / len(samples)) if samples else 0.0

    def sip_trace(self) -> str:
        """What baresip printed (it runs with -s: every SIP message, bodies included)."""
        return (self.dir / "log").read_text(errors="replace")

    def wait_for_count(self, kind: str, count: int, timeout: float = 20) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.seen(kind)) < count:
            if time.monotonic() > deadline:
                seen = [e.get("type") for e in self.events]
                raise AssertionError(f"{self.number} saw {len(self.seen(kind))} {kind}, not {count}; saw {seen}")
            time.sleep(0.05)
        return self.seen(kind)

    def stop(self) -> None:
        self.control.close()
        self.service.stop(grace=BARESIP_GRACE)


class SipStack:
    """kamailio and rtpengine from `manage.py sip_config`, plus baresip lines."""

    def __init__(
        self, workdir: Path, env: dict, events_url: str = "", ring_seconds: int = 30, origins: tuple = (), wss_port: int = 0
    ):
        """With `wss_port`, kamailio also listens for WSS there (env: RINGBACK_SIP_TLS_CERTIFICATE and _KEY); with
        RINGBACK_SIP_TURN_URLS and _SECRET in `env`, coturn runs beside it, from the configuration sip_config wrote."""
        self.workdir, self.env = workdir, env
        subprocess.run(
            [sys.executable, "manage.py", "sip_config", "--dir", str(workdir), "--debug", "2"]
            + ["--ring-seconds", str(ring_seconds)]
            + (["--events-url", events_url] if events_url else [])
            + [arg for origin in origins for arg in ("--origin", origin)]
            + (["--wss-port", str(wss_port)] if wss_port else []),
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        log = workdir / "sip.log"
        self.rtpengine = Service(
            "rtpengine", [RTPENGINE, f"--config-file={workdir / 'rtpengine.conf'}", "--foreground"], env, log
        )
        self.kamailio = Service("kamailio", [KAMAILIO, "-DD", "-E", "-f", str(workdir / "kamailio.cfg")], env, log, 8600)
        turn = workdir / "turnserver.conf"
        self.coturn = Service("coturn", [TURNSERVER, "-c", str(turn)], env, workdir / "coturn.log") if turn.exists() else None
        self.wss_port = wss_port
        self.lines: list[Line] = []

    def start(self) -> SipStack:
        self.rtpengine.start()
        self._wait_for_rtpengine(15)  # kamailio pings it once at start, and leaves a silent one out for a minute
        self.kamailio.start()
        if self.coturn:
            self.coturn.start()
        wait_port(8600, 15)
        if self.wss_port:
            wait_port(self.wss_port, 15)
        return self

    def _wait_for_rtpengine(self, timeout: float) -> None:
        from callbacks.telephony.sip import health

        port = int(self.env.get("RINGBACK_RTPENGINE_PORT", "2223"))
        deadline = time.monotonic() + timeout
        while True:
            try:
                health.rtpengine_at("127.0.0.1", port, timeout=0.3)
                return
            except (OSError, RuntimeError):
                if time.monotonic() > deadline:
                    raise RuntimeError("rtpengine did not answer its ping") from None
                time.sleep(0.1)

    def line(
        self, number: str, credentials: dict, answer_mode: str = "manual", registrar: str = "", record: bool = False
    ) -> Line:
        """A baresip line registered at kamailio, or at `registrar` (a carrier behind the trunk); with `record`, it
        keeps what it hears (`Line.heard_energy`)."""
        n = len(self.lines)
        line = Line(self.workdir, number, credentials, 5062 + 2 * n, 8601 + n, registrar=registrar, record=record)  # (+1: TLS)
        line.answer_mode = answer_mode
        self.lines.append(line.start())
        return line

    def stop(self) -> None:
        # All at once: baresip often outlives SIGTERM, and one grace period per process (30-odd lines, kamailio,
        # rtpengine, coturn × 5 s) added up to minutes at the end of the SIP suite.
        for line in self.lines:
            if line.sock is not None:
                line.sock.close()
        stop_all(
            [line.service for line in self.lines] + [s for s in (self.kamailio, self.rtpengine, self.coturn) if s], BARESIP_GRACE
        )
