import time

from django.conf import settings
from django.core.management.base import BaseCommand

from callbacks.dispatcher import run_ready_tasks, sweep_once


class Command(BaseCommand):
    help = "Run the clock: due callbacks, expired offers, timers, call supervision, routing safety net (scaled mode)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=settings.RINGBACK_SWEEP_SECONDS)
        parser.add_argument("--once", action="store_true", help="Run one sweep and exit.")
        parser.add_argument(
            "--with-tasks", action="store_true", help="Also run ready task rows after each sweep (when no db_worker runs)."
        )

    def handle(self, *args, interval: float, once: bool, with_tasks: bool, **options):
        self.stdout.write(f"Ringback dispatcher: sweeping every {interval:g} s")
        while True:
            started = time.monotonic()
            try:
                result = sweep_once()
                if with_tasks:
                    result["tasks"] = run_ready_tasks()
                if any(result.values()):
                    self.stdout.write(f"sweep: {result}")
            except Exception as exc:  # keep the clock ticking through a database blip
                self.stderr.write(f"sweep failed: {exc!r}")
            if once:
                return
            time.sleep(max(0.05, interval - (time.monotonic() - started)))
