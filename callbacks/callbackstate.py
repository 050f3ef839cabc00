"""The callback request lifecycle, as data: states, the events that move a callback, and what each records and pushes.

    (new) --requested--> queued            (new) --requested_later--> scheduled
    scheduled --due--> queued --offer--> offered --accept--> in_progress --complete--> completed
    offered --reject / time_out / not_delivered / withdraw--> queued
    in_progress --reschedule / retry--> scheduled      in_progress --fail--> failed
    in_progress --transfer_to_agent--> offered         in_progress --transfer_to_queue--> queued
    in_progress --transfer_out--> completed            scheduled / queued / offered --cancel--> cancelled
    scheduled / queued / offered --move--> scheduled   scheduled / queued --expire--> failed

One helper performs every transition (`callbacks.lifecycle.transitions.transition`);
it refuses any edge this table does not list. The lifecycle page's table (docs/lifecycle.md) is
generated from `TRANSITIONS` (`python manage.py lifecycle_table`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext

from .enums import CallbackEvent as E
from .enums import CallbackState as S
from .enums import CloseReason as R
from .enums import HistoryKind as H
from .errors import DomainError
from .push import Push

NEW = None  # the state of a callback that does not exist yet


@dataclass(frozen=True)
class Transition:
    sources: frozenset[S | None]
    target: S
    records: H
    # Pushed to the agents concerned (the offered agent, the one working it), besides the queue's group.
    pushes: tuple[Push, ...] = ()
    closes: R | None = None  # the callback is closed, for this reason (overridable by the action): closed_at is stamped


def _t(sources, target, records, pushes=(), closes=None) -> Transition:
    return Transition(frozenset(sources), target, records, tuple(pushes), closes)


TRANSITIONS: dict[E, Transition] = {
    E.REQUESTED: _t({NEW}, S.QUEUED, H.CREATED),
    E.REQUESTED_LATER: _t({NEW}, S.SCHEDULED, H.CREATED),
    E.DUE: _t({S.SCHEDULED}, S.QUEUED, H.DUE),
    E.OFFER: _t({S.QUEUED}, S.OFFERED, H.OFFERED, [Push.OFFER_NEW]),
    E.ACCEPT: _t({S.OFFERED}, S.IN_PROGRESS, H.ACCEPTED, [Push.INTERACTION_OPENED, Push.OFFER_ENDED]),
    E.REJECT: _t({S.OFFERED}, S.QUEUED, H.REJECTED, [Push.OFFER_ENDED]),
    E.TIME_OUT: _t({S.OFFERED}, S.QUEUED, H.TIMED_OUT, [Push.OFFER_ENDED]),
    E.NOT_DELIVERED: _t({S.OFFERED}, S.QUEUED, H.NOT_DELIVERED, [Push.OFFER_ENDED]),
    E.WITHDRAW: _t({S.OFFERED}, S.QUEUED, H.WITHDRAWN, [Push.OFFER_ENDED]),
    E.COMPLETE: _t({S.IN_PROGRESS}, S.COMPLETED, H.DONE, [Push.INTERACTION_CLOSED], closes=R.DONE),
    E.FAIL: _t({S.IN_PROGRESS}, S.FAILED, H.FAILED, [Push.INTERACTION_CHANGED], closes=R.FAILED),
    E.CANCEL: _t({S.SCHEDULED, S.QUEUED, S.OFFERED}, S.CANCELLED, H.CANCELLED, [Push.OFFER_ENDED], closes=R.CANCELLED),
    E.RESCHEDULE: _t({S.IN_PROGRESS}, S.SCHEDULED, H.RESCHEDULED, [Push.INTERACTION_CHANGED]),
    E.RETRY: _t({S.IN_PROGRESS}, S.SCHEDULED, H.RETRY, [Push.INTERACTION_CHANGED]),
    E.TRANSFER_TO_AGENT: _t({S.IN_PROGRESS}, S.OFFERED, H.TRANSFER, [Push.OFFER_NEW]),
    E.TRANSFER_TO_QUEUE: _t({S.IN_PROGRESS}, S.QUEUED, H.TRANSFER, [Push.INTERACTION_CHANGED]),
    E.TRANSFER_OUT: _t({S.IN_PROGRESS}, S.COMPLETED, H.TRANSFER, [Push.INTERACTION_CHANGED], closes=R.TRANSFERRED),
    E.MOVE: _t({S.SCHEDULED, S.QUEUED, S.OFFERED}, S.SCHEDULED, H.RESCHEDULED, [Push.OFFER_ENDED]),
    E.EXPIRE: _t({S.SCHEDULED, S.QUEUED}, S.FAILED, H.EXPIRED, closes=R.EXPIRED),
    # Customer-first dialling: Ringback's own call did not reach the customer (no agent had it yet).
    E.DIAL_RETRY: _t({S.QUEUED, S.OFFERED}, S.SCHEDULED, H.RETRY, [Push.OFFER_ENDED]),
    E.DIAL_FAIL: _t({S.QUEUED, S.OFFERED}, S.FAILED, H.FAILED, [Push.OFFER_ENDED], closes=R.FAILED),
}

# Where nothing more can happen.
TERMINAL = frozenset({S.COMPLETED, S.CANCELLED, S.FAILED})


def target_of(event: E, state: S | str | None) -> S:
    """The state `event` moves a callback in `state` to; refused when the table has no such edge."""
    rule = TRANSITIONS[event]
    if state not in rule.sources:
        shown = gettext(S(state).label).lower() if state else gettext("not yet created")
        message = gettext("This callback is %(state)s: it cannot be %(event)s now.")
        raise DomainError(message % {"state": shown, "event": gettext(E(event).label).lower()})
    return rule.target


def allowed_events(state: S | str | None) -> list[E]:
    return [event for event, rule in TRANSITIONS.items() if state in rule.sources]


def markdown_table() -> str:
    """The lifecycle as a Markdown table, for docs/lifecycle.md (`manage.py lifecycle_table`)."""
    order = [NEW, *S]
    rows = ["| event | from | to | records | pushes to the agent |", "|---|---|---|---|---|"]
    for event, rule in TRANSITIONS.items():
        sources = ", ".join("(new)" if s is NEW else S(s).value for s in order if s in rule.sources)
        pushes = ", ".join(p.value for p in rule.pushes) or "—"
        closes = " (closes)" if rule.closes else ""
        rows.append(f"| `{event.value}` | {sources} | {rule.target.value}{closes} | {rule.records.label} | {pushes} |")
    return "\n".join(rows)
