"""The clock: everything that happens because time passed, from durable data, safe from any number of dispatchers.

Owns: due scheduled callbacks (also automatic retries, which are scheduled
callbacks), callbacks whose availability window lapsed, offer expiry (also offers that expired while everything was
down), the end of timed After Call Work, monitoring sessions whose supervisor's board is gone, reminders for personal callbacks,
call supervision (a dial the switch never answered or never took ends as
failed), Conference requests nobody answered, re-queueing effects whose worker died, reminder e-mails to customers,
webhook calls for integrations' callbacks, the routing safety net, pruning the line reports kept against
repeats, and retention (recordings' audio; callbacks, history, e-mails, notes and texts: `privacy`).
Each timer is an indexed sweep with SKIP LOCKED and a state check, so a
restart loses none and two dispatchers never fire one twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .. import analytics
from ..enums import AgentStatus, CallbackEvent, CallbackState, CallState, HistoryKind, OfferOutcome, SystemReason
from ..models import (
    AgentChannelStatus,
    Call,
    CallbackRequest,
    LineReport,
    NotReadyReason,
    Offer,
)
from ..push import Push, push_on_commit
from ..telephony import telephony
from . import effects, privacy, recordings, reports
from .calls import end_unreached_call
from .intake import remind_customer
from .monitoring import do_end_unwatched_monitoring
from .offers import return_offer, route_everything, route_on_commit
from .presence import change_status, status_of
from .transfers import do_expire_conference_requests, do_expire_consultation_requests
from .transitions import action, record, transition
from .webhooks import do_queue_webhooks

BATCH = 200


# --- What each timer reads: indexed, locked with SKIP LOCKED (their plans: `manage.py query_plans`) ---


def due_callbacks(now: datetime):
    return (
        CallbackRequest.objects.select_for_update(skip_locked=True)
        .filter(state=CallbackState.SCHEDULED, desired_time__lte=now)
        .order_by("desired_time")
    )


def expired_offers(now: datetime):
    return (
        Offer.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("callback__queue", "agent")
        .filter(outcome=OfferOutcome.OPEN, deadline__lte=now)
        .order_by("deadline")
    )


def ended_after_call_work(now: datetime):
    return (
        AgentChannelStatus.objects.select_for_update(skip_locked=True)
        .select_related("agent")
        .filter(status=AgentStatus.AFTER_CALL_WORK, until__lte=now)
    )


def reminders_soon(now: datetime):
    return (
        CallbackRequest.objects.select_for_update(skip_locked=True)
        .select_related("queue", "owner")
        .filter(owner__isnull=False, reminded_at__isnull=True, state__in=[CallbackState.SCHEDULED, CallbackState.QUEUED])
        .filter(desired_time__lte=now + timedelta(hours=1))
    )


def lapsed_windows(now: datetime):
    """Waiting callbacks whose customer's availability window has ended (partial index cb_window_end)."""
    return (
        CallbackRequest.objects.select_for_update(skip_locked=True)
        .filter(window_end__lte=now, state__in=[CallbackState.SCHEDULED, CallbackState.QUEUED])
        .order_by("window_end")
    )


def customer_reminders_due(now: datetime):
    """Scheduled callbacks due a reminder soon, whose customer hears by e-mail (and gave an address) or by text
    (partial index cb_customer_reminder_due)."""
    soon = now + timedelta(minutes=settings.RINGBACK_CUSTOMER_REMINDER_MINUTES)
    told = Q(queue__customer_notices__in=("sms", "both")) | (~Q(customer_email="") & ~Q(queue__customer_notices="sms"))
    return (
        CallbackRequest.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(state=CallbackState.SCHEDULED, customer_reminded_at__isnull=True, desired_time__lte=soon, desired_time__gt=now)
        .filter(told)
        .select_related("queue")
        .order_by("desired_time")
    )


def dialing_calls():
    return Call.objects.filter(state=CallState.DIALING).order_by("started_at").values_list("id", "switch_ref", "started_at")


def next_deadlines():
    """The next scheduled callback's due time and the next offer's deadline."""
    return [
        CallbackRequest.objects.filter(state=CallbackState.SCHEDULED)
        .order_by("desired_time")
        .values_list("desired_time", flat=True)[:1],
        Offer.objects.filter(outcome=OfferOutcome.OPEN).order_by("deadline").values_list("deadline", flat=True)[:1],
    ]


@action
def do_enqueue_due(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Scheduled callbacks reached their desired time: they join their queue."""
    now = now or timezone.now()
    due = list(due_callbacks(now)[:limit])
    for callback in due:
        callback.enqueued_at = callback.enqueued_at or now
        transition(
            callback, CallbackEvent.DUE, now=now, message="Desired time reached; waiting for an agent", fields=["enqueued_at"]
        )
    for queue_id, channel in {(c.queue_id, c.channel) for c in due}:
        route_on_commit(queue_id, channel)
    return len(due)


@action
def do_expire_windows(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """The customer's availability window ended before anyone could call: the callback fails, saying why,
    rather than ring a customer who said they would not be there."""
    now = now or timezone.now()
    lapsed = list(lapsed_windows(now)[:limit])
    for callback in lapsed:
        callback.outcome = (
            "Expired: the customer did not call in"
            if callback.customer_dials_in
            else "Expired: the customer's availability window ended before an agent could call"
        )
        transition(callback, CallbackEvent.EXPIRE, now=now, message=callback.outcome, fields=["outcome"])
    return len(lapsed)


@action
def do_remind_customers(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Customers who gave an address are reminded by e-mail before a scheduled callback."""
    now = now or timezone.now()
    due = list(customer_reminders_due(now)[:limit])
    for callback in due:
        remind_customer(callback, now)
        callback.customer_reminded_at = now
        callback.save(update_fields=["customer_reminded_at"])
    return len(due)


@action
def do_expire_offers(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Agents did not answer in time (or the system was down): their offers time out.

    The callback returns to its queue with its place kept. An agent whose page
    showed the offer and who let it ring out goes Not Ready ("Missed offer"), so
    the next callback does not ring an empty desk; an offer no page ever
    acknowledged (a burst, a closed tab) goes back without burning the agent.
    """
    now = now or timezone.now()
    offers = list(expired_offers(now)[:limit])
    if not offers:
        return 0
    for offer in offers:
        CallbackRequest.objects.select_for_update().filter(pk=offer.callback_id).exists()
        if offer.delivered_at is None:
            seconds = settings.RINGBACK_OFFER_DELIVERY_SECONDS
            message = f"Not delivered to {offer.agent}'s page within {seconds} s"
            return_offer(offer, CallbackEvent.NOT_DELIVERED, now, message=message)
            continue
        seconds = int((offer.deadline - offer.delivered_at).total_seconds())
        return_offer(offer, CallbackEvent.TIME_OUT, now, message=f"{offer.agent} did not answer within {seconds} s")
        if status_of(offer.agent, offer.channel) == AgentStatus.READY:  # never overwrite a status the agent chose
            reason, _ = NotReadyReason.objects.get_or_create(
                system=SystemReason.MISSED_OFFER, defaults={"name": SystemReason.MISSED_OFFER.label, "order": 99}
            )
            change_status(offer.agent, offer.channel, AgentStatus.NOT_READY, reason=reason, actor=None, now=now)
    return len(offers)


@action
def do_end_after_call_work(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """After Call Work with a timer ends, and the agent is Ready again."""
    now = now or timezone.now()
    rows = list(ended_after_call_work(now)[:limit])
    for row in rows:
        change_status(row.agent, row.channel, AgentStatus.READY, reason=None, actor=None, now=now)
    return len(rows)


@action
def do_remind_owners(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Owners of personal callbacks are reminded shortly before they are due."""
    now = now or timezone.now()
    due_soon = [cb for cb in reminders_soon(now)[:limit] if cb.desired_time - timedelta(minutes=cb.queue.reminder_minutes) <= now]
    for cb in due_soon:
        cb.reminded_at = now
        cb.save(update_fields=["reminded_at"])
        record(HistoryKind.REMINDER, f"Reminder sent to {cb.owner}", callback=cb, agent=cb.owner, at=now)
        push_on_commit(Push.OFFER_NEW, agent_ids=[cb.owner_id])
    return len(due_soon)


def supervise_calls(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Dials the switch never answered within its limit, or never took (the dial effect failed), end as failed."""
    now = now or timezone.now()
    limit_seconds = settings.RINGBACK_DIAL_LIMIT_SECONDS
    dialing = list(dialing_calls()[:limit])
    never_taken = effects.failed_dials([ref for _, ref, _ in dialing])
    ended = 0
    for call_id, switch_ref, started_at in dialing:
        if started_at <= now - timedelta(seconds=limit_seconds):
            reason = f"no answer from the switch within {limit_seconds} s"
        elif switch_ref in never_taken:
            reason = "the switch could not be reached"
        else:
            continue
        ended += end_unreached_call(call_id=call_id, reason=reason) is not None
    return ended


@action
def do_requeue_stale_effects(*, now: datetime | None = None) -> int:
    """Effects whose worker died holding them get a new task row."""
    return effects.requeue_stale(now=now or timezone.now())


# A line report is kept to drop its repeats: a retried page report, both sources telling the same end, a proxy
# report replayed. The proxy's reports older than RINGBACK_SIP_REPORT_WINDOW_SECONDS are refused by their signed
# time, and a page retries for seconds: a day's reports drop every repeat that can still arrive.
LINE_REPORTS_KEPT = timedelta(days=1)
PRUNE_EVERY = timedelta(minutes=1)
_next_prune: datetime | None = None


def do_prune_line_reports(*, now: datetime | None = None, limit: int = 5 * BATCH) -> int:
    """Delete line reports older than a day, a batch at a time, at most once a minute per process (index
    linereport_received): in between, not a statement."""
    global _next_prune
    now = now or timezone.now()
    if _next_prune is not None and now < _next_prune:
        return 0
    _next_prune = now + PRUNE_EVERY
    return _prune_line_reports(before=now - LINE_REPORTS_KEPT, limit=limit)


def old_line_reports(before: datetime):
    return LineReport.objects.filter(received_at__lt=before).order_by("received_at")


@action
def _prune_line_reports(*, before: datetime, limit: int) -> int:
    old = old_line_reports(before).values_list("pk", flat=True)[:limit]
    return LineReport.objects.filter(pk__in=list(old)).delete()[0]


class Every:
    """A housekeeping job that runs at most once every `period` per process: in between, not a statement (each run
    is safe from any number of processes by itself)."""

    def __init__(self, period: timedelta):
        self.period = period
        self.next: datetime | None = None

    def due(self, now: datetime) -> bool:
        if self.next is not None and now < self.next:
            return False
        self.next = now + self.period
        return True

    def reset(self) -> None:
        self.next = None


RECORDINGS_EXPIRY = Every(timedelta(minutes=10))
ROLLUP = Every(timedelta(minutes=5))
REPORTS = Every(timedelta(minutes=1))
RETENTION = Every(timedelta(minutes=10))


def do_expire_recordings(*, now: datetime | None = None) -> int:
    """Delete recordings past their retention (`recordings.expire`), every ten minutes."""
    now = now or timezone.now()
    return recordings.expire(now) if RECORDINGS_EXPIRY.due(now) else 0


def do_roll_up_analytics(*, now: datetime | None = None) -> int:
    """Settle the analytics hours that are an hour old (`analytics.roll_up`), every five minutes."""
    now = now or timezone.now()
    return analytics.roll_up(now) if ROLLUP.due(now) else 0


def do_send_due_reports(*, now: datetime | None = None) -> int:
    """Send the supervisors' reports that are due (`reports.do_send_reports`), every minute."""
    now = now or timezone.now()
    return reports.do_send_reports(now=now) if REPORTS.due(now) else 0


def do_apply_retention(*, now: datetime | None = None) -> int:
    """Erase what each queue's retention keeps no longer (`privacy.do_apply_retention`, a batch a run), every ten
    minutes. Returns how many rows it removed or emptied."""
    now = now or timezone.now()
    return sum(privacy.do_apply_retention(now=now).values()) if RETENTION.due(now) else 0


def sweep_deadlines(now: datetime | None = None) -> dict[str, int]:
    """The part of the sweep whose lateness customers and agents feel: due callbacks and offer time-outs."""
    return {"due": do_enqueue_due(now=now), "expired": do_expire_offers(now=now)}


def seconds_to_next_deadline(*, cap: float, now: datetime | None = None) -> float:
    """How long until the next scheduled callback falls due or the next offer times out (at most `cap`).
    Two indexed reads (cb_due, offer_deadline)."""
    now = now or timezone.now()
    soonest = min((row for rows in next_deadlines() for row in rows if row is not None), default=None)
    if soonest is None:
        return cap
    return max(0.0, min(cap, (soonest - now).total_seconds()))


def sweep(now: datetime | None = None) -> dict[str, int]:
    """One pass of the clock. Safe to run from any number of processes at once."""
    telephony().tick()
    return {
        "due": do_enqueue_due(now=now),
        "expired": do_expire_offers(now=now),
        "after_call_work": do_end_after_call_work(now=now),
        "windows": do_expire_windows(now=now),
        "customer_reminders": do_remind_customers(now=now),
        "webhooks": do_queue_webhooks(now=now),
        "reminders": do_remind_owners(now=now),
        "supervised": supervise_calls(now=now),
        "conference_requests": do_expire_conference_requests(now=now),
        "consultation_requests": do_expire_consultation_requests(now=now),
        "monitoring": do_end_unwatched_monitoring(now=now),
        "effects": do_requeue_stale_effects(now=now),
        "line_reports": do_prune_line_reports(now=now),
        "recordings": do_expire_recordings(now=now),
        "analytics": do_roll_up_analytics(now=now),
        "reports": do_send_due_reports(now=now),
        "retention": do_apply_retention(now=now),
        "routed": route_everything(),
    }
