"""Find callbacks whose state disagrees with their offers, interactions and calls, repair them, and report what was
repaired (`--dry-run`: report only). Exit status 0 either way; the report is the output."""

from django.core.management.base import BaseCommand

from callbacks import lifecycle
from callbacks.models import CallbackRequest


class Command(BaseCommand):
    help = "Repair callbacks whose state disagrees with their offers, interactions and calls, and report each repair."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report what would be repaired, change nothing")

    def handle(self, *args, dry_run: bool = False, **options):
        found = lifecycle.inconsistent_callbacks()
        repaired = 0
        for callback_id in found:
            repairs = lifecycle.do_reconcile_callback(callback_id=callback_id, dry_run=dry_run)
            if repairs:
                repaired += 1
                reference = CallbackRequest.objects.filter(pk=callback_id).values_list("reference", flat=True).first()
                for line in repairs:
                    self.stdout.write(f"{reference}: {line}")
        verb = "would be repaired" if dry_run else "repaired"
        self.stdout.write(f"{repaired} callback{'s' if repaired != 1 else ''} {verb}; every other callback is consistent.")
