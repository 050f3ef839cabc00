"""Phone numbers and time zones, validated once at the edge."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext
from phonenumbers import timezone as number_zones

from .errors import Invalid


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return the number in E.164, or raise Invalid with a message a person can act on."""
    raw = (raw or "").strip()
    if not raw:
        raise Invalid(gettext("A phone number is required."), field="phone_number")
    try:
        parsed = phonenumbers.parse(raw, region or settings.RINGBACK_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise Invalid(gettext("“%(number)s” is not a phone number.") % {"number": raw}, field="phone_number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise Invalid(
            gettext("“%(number)s” is not a valid phone number (use the international form, e.g. +33 6 12 34 56 78).")
            % {"number": raw},
            field="phone_number",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


KEYED = re.compile(r"^\+?[0-9]{2,20}$")


def keyed_number(raw: str) -> str:
    """A number kept as keyed, for a service that takes what cannot be a phone number anywhere (an extension, a short
    code: GMS's `_disallow_impossible_phone_numbers=false`): its digits, with a leading + if it had one; separators
    dropped. Anything else (letters, nothing, more than 20 digits) is refused."""
    digits = re.sub(r"[\s().-]", "", (raw or "").strip())
    if not KEYED.match(digits):
        raise Invalid(gettext("“%(number)s” is not a phone number.") % {"number": (raw or "")[:40]}, field="phone_number")
    return digits


def display_phone(e164: str) -> str:
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def validate_timezone(name: str, *, field: str = "customer_timezone") -> str:
    name = (name or "").strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = gettext("“%(zone)s” is not a known time zone (use an IANA name such as Europe/Paris).")
        raise Invalid(message % {"zone": name}, field=field) from None
    return name


# Where the data lists a country's zones alphabetically and the first is not the one most of its numbers mean.
USUAL_ZONE = {44: "Europe/London"}  # by country calling code


def zone_for_number(e164: str, *, prefer: str = "") -> str:
    """The customer's zone from their number (phonenumbers' time zone data): the number's one zone; where it has
    several (a country across zones with no finer data), `prefer` (the queue's zone) if it is one of them, else the
    first; UTC when the data knows none."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "UTC"
    zones = [z for z in number_zones.time_zones_for_number(parsed) if z != number_zones.UNKNOWN_TIMEZONE]
    if not zones:
        return "UTC"
    if prefer in zones:
        return prefer
    usual = USUAL_ZONE.get(parsed.country_code)
    return usual if usual in zones else zones[0]


def zone_city(name) -> str:
    """Europe/Rome → Rome, America/New_York → New York (UTC stays UTC)."""
    return str(name).rsplit("/", 1)[-1].replace("_", " ")


def in_both_zones(moment: datetime, agent_zone, customer_zone, fmt: str = "%a %H:%M") -> str:
    """A time as text for the agent: in their zone, with the customer's local time beside it when their clocks differ."""
    mine = moment.astimezone(ZoneInfo(str(agent_zone)))
    theirs = moment.astimezone(ZoneInfo(str(customer_zone)))
    if mine.utcoffset() == theirs.utcoffset():
        return f"{mine:{fmt}}"
    return f"{mine:{fmt}} ({theirs:%H:%M} in {zone_city(customer_zone)})"
