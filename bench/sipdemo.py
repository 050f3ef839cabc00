"""The real-SIP demo (`scripts/sipdemo`): kamailio, rtpengine and three baresip customer lines on this machine,
three callbacks for them, and Ringback with the browser softphone (`scripts/run`).

    +33 6 12 00 00 41  answers at once and plays a 440 Hz tone, and hears the agent's DTMF
    +33 6 12 00 00 42  is busy (486)
    +33 6 12 00 00 43  rings and never answers (No answer after the queue's ring time)

and a number to call: +33 1 84 88 00 10, the Lines queue's entry number, answered by Ringback's voice menu
(`manage.py voice`). The line +33 6 12 00 00 44 is a phone to call it from: `scripts/sipdemo` prints how to drive it.

Ctrl-C stops everything it started.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time

import django

from .common import ROOT
from .sipstack import SipStack

ENTRY = "+33184880010"
CALLER = "+33612000044"
LINES = [
    ("+33612000041", "auto", "Tone line (answers with a 440 Hz tone)"),
    ("+33612000042", "busy", "Busy line (486 Busy Here)"),
    ("+33612000043", "manual", "Silent line (rings, never answers)"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--ring-seconds", type=int, default=30, help="kamailio's own limit on a ringing call")
    args = parser.parse_args()
    env = dict(os.environ)
    env.setdefault("RINGBACK_SIP_SECRET", secrets.token_hex(16))
    env["RINGBACK_TELEPHONY"] = "callbacks.telephony.sip.softphone.BrowserSoftphone"
    env["PORT"] = str(args.port)
    os.environ.update(env)
    django.setup()
    from django.core.management import call_command  # after setup: the settings come from this environment

    from callbacks.telephony.sip import credentials

    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # the queues (scripts/run prints the logins)
    workdir = ROOT / "var" / "sip"
    workdir.mkdir(parents=True, exist_ok=True)
    stack = SipStack(
        workdir,
        env,
        events_url=f"http://127.0.0.1:{args.port}/sip/events",
        ring_seconds=args.ring_seconds,
        origins=(f"http://127.0.0.1:{args.port}", f"http://localhost:{args.port}"),
    )
    stack.start()
    try:
        for number, mode, _ in LINES:
            stack.line(number, credentials(number), answer_mode=mode)
        phone = stack.line(CALLER, credentials(CALLER), record=True)
        from callbacks.models import EntryNumber, Queue

        EntryNumber.objects.update_or_create(number=ENTRY, defaults={"queue": Queue.objects.get(slug="lines")})
        voice = subprocess.Popen([sys.executable, "manage.py", "voice"], cwd=ROOT, env=env, start_new_session=True)
        for number, _, label in LINES:
            call_command(
                "create_callback", queue="lines", phone=number, name=label, priority=10, stdout=open(os.devnull, "w")
            )  # first in line
        print("==> kamailio (SIP over WebSocket on ws://127.0.0.1:8600), rtpengine and three customer lines:")
        for number, _, label in LINES:
            print(f"      {number}  {label}")
        print("==> Log in as phone / ringback-demo (its queue holds these three), go Ready, Accept, click Call.")
        print(f"==> A number to call: {ENTRY}, the Lines queue's voice menu. Call it from {CALLER}'s baresip:")
        print(f"      python -m bench.sipdemo_call {phone.ctrl_port} {ENTRY}   (then type the keys: 1, 1)")
        print(f"    SIP logs: {workdir / 'sip.log'}, the lines' in {workdir}/baresip-*/log")
        run = subprocess.Popen(["bash", "scripts/run"], cwd=ROOT, env=env, start_new_session=True)
        stop = lambda *_: os.killpg(run.pid, signal.SIGTERM)  # noqa: E731
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        run.wait()
    finally:
        if "voice" in locals():
            os.killpg(voice.pid, signal.SIGTERM)
        stack.stop()
        time.sleep(0.2)
        print("SIP demo stopped.")


if __name__ == "__main__":
    main()
