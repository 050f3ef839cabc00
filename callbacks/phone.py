"""Phone numbers and time zones, validated once at the edge."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.conf import settings

from .errors import Invalid


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return the number in E.164, or raise Invalid with a message a person can act on."""
    raw = (raw or "").strip()
    if not raw:
        raise Invalid("A phone number is required.", field="phone_number")
    try:
        parsed = phonenumbers.parse(raw, region or settings.RINGBACK_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise Invalid(f"“{raw}” is not a phone number.", field="phone_number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise Invalid(
            f"“{raw}” is not a valid phone number (use the international form, e.g. +33 6 12 34 56 78).", field="phone_number"
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


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
        raise Invalid(f"“{name}” is not a known time zone (use an IANA name such as Europe/Paris).", field=field) from None
    return name
