from django import template

from callbacks.errors import DomainError
from callbacks.lifecycle import resolve_target
from callbacks.phone import display_phone

register = template.Library()

KIND_LABELS = {"agent": "Agent", "queue": "Queue", "rp": "Routing point", "contact": "Contact", "number": "Number"}


@register.filter
def concat(prefix, value) -> str:
    return f"{prefix}{value}"


@register.filter
def target_kind(key: str) -> str:
    return (key or "").partition(":")[0]


@register.filter
def target_label(key: str) -> str:
    """A readable name for a recent target key (resolved lazily; recent lists are short)."""
    try:
        return resolve_target(key).label
    except DomainError:
        return key


@register.filter
def phone(number: str) -> str:
    """An E.164 number as people read it (+33 6 12 34 56 78)."""
    return display_phone(number) if number else ""


@register.filter
def hms(seconds) -> str:
    """Seconds as h:mm:ss (or m:ss under an hour); an empty value as —."""
    if seconds is None or seconds == "":
        return "—"
    seconds = int(round(float(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@register.filter
def get(mapping, key):
    """mapping[key] in a template (0 when missing)."""
    try:
        return mapping[key]
    except (KeyError, TypeError, IndexError):
        return 0
