"""Where Ringback may dial: each queue's dial plan, applied to every number an agent's call reaches (the customer,
a transfer, a consultation, a conference), at intake (a number the queue may never call is refused with the request)
and again in kamailio (`sip_config` writes the same rules), so that a browser cannot dial around Ringback.

A number is E.164 ("+" and 7 to 15 digits). It is refused when it starts with a blocked prefix (the premium and
fraud-prone ranges of RINGBACK_DIAL_BLOCKED_PREFIXES, plus the queue's own), or when the queue names allowed
prefixes (else RINGBACK_DIAL_ALLOWED_PREFIXES, when set) and it starts with none of them.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.utils.translation import gettext

from .errors import Invalid
from .phone import display_phone

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def prefixes(text: str) -> list[str]:
    """Prefixes written with spaces, commas or new lines between them ("+33, +32" or "+44 9"-style with no inner
    spaces): each as "+" and digits."""
    return [p for p in (part.strip() for part in re.split(r"[,;\s]+", text or "")) if p]


def clean_prefixes(text: str) -> str:
    """A prefix list as an admin may type it, checked: each is "+" and 1 to 14 digits."""
    items = prefixes(text)
    for item in items:
        if not re.fullmatch(r"\+\d{1,14}", item):
            raise ValueError(f"“{item}” is not a prefix: write “+” and digits, e.g. +33 or +3389.")
    return ", ".join(items)


def blocked_for(queue) -> list[str]:
    return prefixes(settings.RINGBACK_DIAL_BLOCKED_PREFIXES) + prefixes(getattr(queue, "dial_blocked_prefixes", ""))


def allowed_for(queue) -> list[str]:
    return prefixes(getattr(queue, "dial_allowed_prefixes", "")) or prefixes(settings.RINGBACK_DIAL_ALLOWED_PREFIXES)


def refusal(queue, number: str) -> str | None:
    """Why `queue` may not dial `number` (None when it may)."""
    if not E164.match(number or ""):
        return gettext("%(number)s is not a full international number.") % {"number": number or "?"}
    shown = display_phone(number)
    if any(number.startswith(p) for p in blocked_for(queue)):
        return gettext("%(number)s is in a blocked range (premium or fraud-prone numbers): %(queue)s may not call it.") % {
            "number": shown,
            "queue": queue.name,
        }
    allowed = allowed_for(queue)
    if allowed and not any(number.startswith(p) for p in allowed):
        return gettext("%(number)s is outside %(queue)s's dial plan (%(allowed)s).") % {
            "number": shown,
            "queue": queue.name,
            "allowed": ", ".join(allowed),
        }
    return None


def check(queue, number: str, *, field: str = "target") -> None:
    """Refuse, with a message the agent (or the integrator) can act on, a number outside `queue`'s dial plan."""
    why = refusal(queue, number)
    if why:
        raise Invalid(why, field=field, code="dial_plan")
