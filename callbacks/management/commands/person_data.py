"""A person's data on request, from the command line: `person_data export --number +33612345678 --out zelda.zip`, or
`person_data erase --email someone@example.org`. Both land in the audit trail ("by the command line" and the
operating-system user), never naming the person."""

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from callbacks.errors import DomainError
from callbacks.lifecycle.privacy import do_erase_person, do_export_person, summary


class Command(BaseCommand):
    help = "Export (a zip of person.json and the recordings) or erase one person's data, found by number or e-mail."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("--number", default="", help="The person's phone number, e.g. +33612345678")
        parser.add_argument("--email", default="", help="… or their e-mail address")
        parser.add_argument("--out", default="", help="export: where to write the zip (default: person-data.zip)")

    def handle(self, *args, **o):
        by = f"{getpass.getuser()} (command line)"
        try:
            if o["action"] == "export":
                archive = do_export_person(number=o["number"], email=o["email"], by=by)
                out = Path(o["out"] or "person-data.zip")
                out.write_bytes(archive)
                self.stdout.write(f"Exported to {out} ({len(archive)} bytes).")
                return
            erasure = do_erase_person(number=o["number"], email=o["email"], by=by)
        except DomainError as error:
            raise CommandError(error.message) from None
        if erasure.erased:
            self.stdout.write(f"Erased: {summary(erasure.counts)} ({erasure.cancelled} waiting callbacks cancelled first).")
        else:
            self.stdout.write("Nothing to erase: already erased, or never known.")
