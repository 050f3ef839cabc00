"""Scheduled reports: a supervisor subscribes to a daily or weekly e-mail of their queues' figures (the analytics of
the day or week before), sent at 07:00 in the centre's zone on the durable e-mail effect, in the language they
chose. The queues are the ones they supervise when it is sent.

Owns: subscribing and stopping (`do_subscribe_report`, `do_unsubscribe_report`), when a report is due and which
period it covers (`next_send`, `period_before`), and sending the due ones, each once (`do_send_reports`, called by
the clock)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from .. import analytics
from ..enums import EffectKind, HistoryKind, Language
from ..errors import DomainError, Invalid
from ..models import ReportSubscription, person_name, queues_for, require_supervisor
from . import effects
from .transitions import action, record

SEND_AT = time(7, 0)
BATCH = 50
Frequency = ReportSubscription.Frequency


def centre_zone():
    return timezone.get_default_timezone()


def period_before(frequency: str, moment: datetime) -> tuple[datetime, datetime]:
    """The whole day (daily) or Monday-to-Sunday week (weekly) that ended last before `moment`, in the centre's
    zone."""
    zone = centre_zone()
    today = moment.astimezone(zone).date()
    end_day = today if frequency == Frequency.DAILY else today - timedelta(days=today.weekday())
    start_day = end_day - timedelta(days=1 if frequency == Frequency.DAILY else 7)
    return datetime.combine(start_day, time(), zone), datetime.combine(end_day, time(), zone)


def next_send(frequency: str, after: datetime) -> datetime:
    """The first 07:00 (every day, or on Mondays) strictly after `after`, in the centre's zone."""
    zone = centre_zone()
    day = after.astimezone(zone).date()
    while True:
        candidate = datetime.combine(day, SEND_AT, zone)
        if candidate > after and (frequency == Frequency.DAILY or day.weekday() == 0):
            return candidate
        day += timedelta(days=1)


@action
def do_subscribe_report(*, user: AbstractBaseUser, frequency: str, language: str, now: datetime | None = None):
    """Subscribe (or change the language of) the supervisor's daily or weekly report. Refused without the
    Supervisor role (403) or an e-mail address on the account (400)."""
    now = now or timezone.now()
    require_supervisor(user)
    if frequency not in Frequency.values:
        raise Invalid(gettext("Choose daily or weekly."), field="frequency")
    if language not in Language.values:
        raise Invalid(gettext("Choose one of Ringback's languages."), field="language")
    if not user.email:
        raise Invalid(gettext("Your account has no e-mail address: ask an admin to add one."), field="frequency")
    subscription, created = ReportSubscription.objects.get_or_create(
        user=user, frequency=frequency, defaults={"language": language, "next_send_at": next_send(frequency, now)}
    )
    if not created and subscription.language != language:
        subscription.language = language
        subscription.save(update_fields=["language"])
    record(
        HistoryKind.CONFIG,
        f"{person_name(user)} subscribed to the {frequency} report ({language})",
        actor=user,
        subscription=subscription.pk,
    )
    return subscription


@action
def do_unsubscribe_report(*, user: AbstractBaseUser, subscription_id: int) -> None:
    """Stop one of the user's own reports (404 for anyone else's)."""
    deleted, _ = ReportSubscription.objects.filter(pk=subscription_id, user=user).delete()
    if not deleted:
        raise DomainError(gettext("That report is not one of yours."), status=404)
    record(HistoryKind.CONFIG, f"{person_name(user)} stopped a report", actor=user, subscription=subscription_id)


def do_send_reports(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Send the reports that are due, each once: the e-mail's effect key names the subscription and the period, and
    the subscription moves to its next time in the same transaction. A subscriber who no longer supervises a queue
    (or has no address, or was deactivated) is skipped until they do. The number sent."""
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        due = (
            ReportSubscription.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .filter(next_send_at__lte=now)
            .order_by("next_send_at")[:limit]
        )
        for subscription in due:
            user = subscription.user
            queues = list(queues_for(user).order_by("name")) if user.is_active and user.email else []
            if queues:
                _mail(subscription, queues, now)
                subscription.last_sent_at = now
                sent += 1
            subscription.next_send_at = next_send(subscription.frequency, now)
            subscription.save(update_fields=["next_send_at", "last_sent_at"])
    return sent


def _mail(subscription: ReportSubscription, queues: list, now: datetime) -> None:
    start, end = period_before(subscription.frequency, now)
    zone = centre_zone()
    result = analytics.analytics(queues, start, end, zone)
    query = urlencode({"from": start.date().isoformat(), "to": (end - timedelta(days=1)).date().isoformat()})
    with translation.override(subscription.language):
        context = {
            "subscription": subscription,
            "name": person_name(subscription.user),
            "start": start,
            "last_day": end - timedelta(days=1),
            "daily": subscription.frequency == Frequency.DAILY,
            "total": result.total,
            "queues": [(q.name, result.by_queue[q.pk]) for q in queues],
            "link": f"{settings.RINGBACK_PUBLIC_URL.rstrip('/')}/reports/analytics/?{query}",
            "manage": f"{settings.RINGBACK_PUBLIC_URL.rstrip('/')}/reports/analytics/#reports-by-email",
        }
        subject = render_to_string("emails/report_subject.txt", context).strip()
        body = render_to_string("emails/report.txt", context)
    effects.enqueue(
        EffectKind.EMAIL,
        key=f"report:{subscription.pk}:{start:%Y%m%d}",
        payload={"to": subscription.user.email, "subject": subject, "body": body},
        now=now,
    )
