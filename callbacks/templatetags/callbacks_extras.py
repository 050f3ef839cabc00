from django import template

from callbacks.errors import DomainError
from callbacks.lifecycle import resolve_target

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
