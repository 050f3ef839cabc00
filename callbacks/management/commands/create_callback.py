from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from callbacks.enums import CallbackType, Channel, Origin
from callbacks.errors import DomainError
from callbacks.lifecycle import CallbackInput, do_create_callback


class Command(BaseCommand):
    help = "Create a callback request, as an integration would."

    def add_arguments(self, parser):
        parser.add_argument("--queue", required=True, help="Queue slug")
        parser.add_argument("--phone", required=True, help="Customer number, e.g. +33612345678")
        parser.add_argument("--type", default=CallbackType.IMMEDIATE, choices=CallbackType.values)
        parser.add_argument("--channel", default=Channel.VOICE, choices=Channel.values)
        parser.add_argument("--origin", default=Origin.AGENT, choices=Origin.values)
        parser.add_argument("--name", default="")
        parser.add_argument("--at", default=None, help="Desired time, ISO 8601 with offset")
        parser.add_argument("--tz", default="UTC", help="Customer IANA time zone")
        parser.add_argument("--instructions", default="")
        parser.add_argument("--priority", type=int, default=5)
        parser.add_argument("--data", action="append", default=[], metavar="KEY=VALUE")

    def handle(self, *args, **o):
        try:
            desired = datetime.fromisoformat(o["at"]) if o["at"] else None
        except ValueError:
            raise CommandError(f"--at {o['at']!r} is not an ISO 8601 date and time") from None
        data = {}
        for pair in o["data"]:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise CommandError(f"--data {pair!r} must look like KEY=VALUE")
            data[key] = value
        request = CallbackInput(
            queue=o["queue"],
            phone_number=o["phone"],
            type=o["type"],
            channel=o["channel"],
            origin=o["origin"],
            customer_name=o["name"],
            desired_time=desired,
            customer_timezone=o["tz"],
            instructions=o["instructions"],
            data=data,
            priority=o["priority"],
        )
        try:
            callback, created = do_create_callback(request=request)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        verb = "Created" if created else "Already open:"
        self.stdout.write(f"{verb} {callback.reference} ({callback.get_state_display()}) for {callback.phone_number}")
