"""The e-mail interaction as data: the status its window shows, and which click is allowed in which status.

An e-mail interaction starts as a Draft kept on the server. Send hands it to
the outbox (an `Effect` row): the window then shows the outbox's truth,
Queued, then Sent or Failed. Discard drops a draft; Done closes the window of
a sent e-mail (the outbox keeps trying a queued one).
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from .enums import EffectStatus, EmailState, EmailStatus
from .errors import DomainError

# Once sent, the window shows what the outbox row says.
DELIVERY: dict[str, EmailStatus] = {
    EffectStatus.PENDING: EmailStatus.QUEUED,
    EffectStatus.DONE: EmailStatus.SENT,
    EffectStatus.FAILED: EmailStatus.FAILED,
}

SENT_STATUSES = frozenset({EmailStatus.QUEUED, EmailStatus.SENT, EmailStatus.FAILED})

# action -> (statuses where it is allowed, message when it is not)
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "save": (frozenset({EmailStatus.DRAFT}), _("This e-mail is no longer a draft.")),
    "send": (frozenset({EmailStatus.DRAFT}), _("This e-mail was already sent or discarded.")),
    "discard": (frozenset({EmailStatus.DRAFT}), _("Only a draft can be discarded.")),
    "done": (SENT_STATUSES, _("Send or discard the e-mail before Done.")),
}


def status_of(state: str, effect_status: str | None) -> EmailStatus:
    """What the window shows, from the stored state and (once sent) the outbox row's status."""
    if state == EmailState.SENT:
        # An outbox row removed by data retention leaves a sent e-mail: it was handed over.
        return DELIVERY.get(effect_status or "", EmailStatus.SENT)
    return EmailStatus(state)


def allowed(action: str, status: str) -> bool:
    return status in ACTIONS[action][0]


def check(action: str, status: str) -> None:
    statuses, message = ACTIONS[action]
    if status not in statuses:
        raise DomainError(gettext(message))
