import time

from django.conf import settings
from django.core.management.base import BaseCommand

from callbacks.dispatcher import Clock, run_ready_tasks


class Command(BaseCommand):
    help = "Run the clock: due callbacks, expired offers, timers, call supervision, routing safety net (scaled mode)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=settings.RINGBACK_SWEEP_SECONDS)
        parser.add_argument("--once", action="store_true", help="Run one sweep and exit.")
        parser.add_argument(
            "--with-tasks", action="store_true", help="Also run ready task rows after each sweep (when no db_worker runs)."
        )

    def handle(self, *args, interval: float, once: bool, with_tasks: bool, **options):
        self.stdout.write(f"Ringback dispatcher: the whole sweep every {interval:g} s, deadlines as they fall due")
        clock = Clock(interval)
        while True:
            try:
                result, wait = clock.run_once()
                if with_tasks:
                    result["tasks"] = run_ready_tasks()
                if any(result.values()):
                    self.stdout.write(f"sweep: {result}")
            except Exception as exc:  # keep the clock ticking through a database blip
                self.stderr.write(f"sweep failed: {exc!r}")
                wait = interval
            if once:
                return
            time.sleep(wait)
