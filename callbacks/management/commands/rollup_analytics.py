"""Settle the analytics rollup now (the clock does it every five minutes), or rebuild it from the source tables."""

from django.core.management.base import BaseCommand

from callbacks import analytics


class Command(BaseCommand):
    help = "Settle the analytics rollup up to an hour ago; with --rebuild, forget it and count everything again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help="Drop the rollup and recount every hour since the first callback."
        )

    def handle(self, *args, rebuild: bool = False, **options):
        if rebuild:
            hours = analytics.rebuild()
        else:
            hours = 0
            while settled := analytics.roll_up():
                hours += settled
        self.stdout.write(f"{hours} hours settled; the rollup holds {analytics.QueueHour.objects.count()} queue-hours.")
