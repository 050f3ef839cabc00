from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from callbacks.enums import CallbackType, Channel, Origin
from callbacks.errors import DomainError
from callbacks.intake_schema import FIELDS
from callbacks.lifecycle import callback_request, do_create_callback

# The options with names of their own; every other field of the request (`intake_schema`) is an option named after
# it (`--max-attempts`, `--window-start` …), so a field added to the request is an option here at once.
OWN = {"queue": "queue", "phone_number": "phone", "customer_name": "name", "desired_time": "at", "customer_timezone": "tz"}
MAPPED_ELSEWHERE = {"data"}  # --data KEY=VALUE, repeated


def option(field: str) -> str:
    return OWN.get(field, field).replace("_", "-")


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
        parser.add_argument("--data", action="append", default=[], metavar="KEY=VALUE")
        named = {"queue", "phone_number", "type", "channel", "origin", "customer_name", "desired_time", "customer_timezone"}
        for field in FIELDS:
            if field not in named and field not in MAPPED_ELSEWHERE:
                parser.add_argument(f"--{option(field)}", dest=field, default=None, help=f"the request's {field}")

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
        fields = {field: o.get(field) for field in FIELDS if field not in MAPPED_ELSEWHERE}
        fields.update(
            queue=o["queue"],
            phone_number=o["phone"],
            customer_name=o["name"],
            desired_time=desired,
            customer_timezone=o["tz"],
            data=data,
        )
        try:
            callback, created = do_create_callback(request=callback_request(**fields))
        except DomainError as exc:
            raise CommandError(exc.message) from None
        verb = "Created" if created else "Already open:"
        self.stdout.write(f"{verb} {callback.reference} ({callback.get_state_display()}) for {callback.phone_number}")
