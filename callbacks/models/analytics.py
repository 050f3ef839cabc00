"""The analytics rollup: one row per queue and hour, kept up to date by the clock (`callbacks.analytics`), so the
analytics pages sum a few columns in the database instead of scanning callbacks, calls and history.

Each figure is attributed to the hour of the event that settles it (a callback to the hour it was asked for, a
first dial to the hour it was dialled, a close to the hour it closed), so an hour that has passed does not change
again, and the clock only recounts the last ones. The definitions are in docs/analytics.md.

Every figure is a column, counters too (one column per key: `origin_web`, `lateness_0_5`, `dial_busy`,
`closed_expired` …), so a period, a day or an hour of the day is one SUM … GROUP BY whatever its length."""

import re

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..enums import DIAL_FAILURES, CloseReason, Language, Origin

# The keys of each counter of the figures, each stored as a column of its own.
LATENESS_LABELS = ("early", "0-5", "5-15", "15-30", "30-60", "60-120", "120+")
COUNTER_KEYS = {
    "by_origin": tuple(o.value for o in Origin),
    "lateness": LATENESS_LABELS,
    "dials": ("connected", *(o.value for o in DIAL_FAILURES), "other"),
    "closed": (*(r.value for r in CloseReason), "other"),
}
PREFIX = {"by_origin": "origin", "lateness": "lateness", "dials": "dial", "closed": "closed"}


def counter_column(counter: str, key: str) -> str:
    return f"{PREFIX[counter]}_{re.sub(r'[^a-z0-9]+', '_', key.lower()).strip('_')}"


COUNTER_COLUMNS = {counter: {key: counter_column(counter, key) for key in keys} for counter, keys in COUNTER_KEYS.items()}


class QueueHour(models.Model):
    queue = models.ForeignKey("callbacks.Queue", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField(help_text="The start of the hour (UTC).")
    requested = models.PositiveIntegerField(default=0)
    # Callbacks asked for "as soon as possible": their first dial and first connected call.
    asap_dialled = models.PositiveIntegerField(default=0)
    asap_wait_seconds = models.FloatField(default=0)
    asap_connected = models.PositiveIntegerField(default=0)
    asap_connect_seconds = models.FloatField(default=0)
    # Against the queue's promise: first dials on time and late, and callbacks closed undialled.
    on_time = models.PositiveIntegerField(default=0)
    late = models.PositiveIntegerField(default=0)
    missed = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    success_attempts = models.PositiveIntegerField(default=0)
    menu_abandoned = models.PositiveIntegerField(default=0)
    menu_left = models.PositiveIntegerField(default=0)
    menu_booked = models.PositiveIntegerField(default=0)
    handled = models.PositiveIntegerField(default=0)
    handle_seconds = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "hour"], name="queue_hour_once")]
        indexes = [models.Index(fields=["hour", "queue"], name="queue_hour_by_hour")]

    def __str__(self) -> str:
        return f"{self.queue_id} @ {self.hour:%Y-%m-%d %H:00}"


for _columns in COUNTER_COLUMNS.values():
    for _name in _columns.values():
        QueueHour.add_to_class(_name, models.PositiveIntegerField(default=0))


class RollupMark(models.Model):
    """How far the rollup is settled: hours before `settled_to` are final in `QueueHour`; from there on, pages
    recount live. One row (name "analytics"), locked by the run that moves it."""

    name = models.CharField(max_length=40, primary_key=True)
    settled_to = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.settled_to}"


class ReportSubscription(models.Model):
    """A supervisor's daily or weekly e-mail of their queues' figures (the analytics of the day or week before),
    sent by the clock through the durable e-mail effect, in the language they chose."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_subscriptions")
    frequency = models.CharField(max_length=6, choices=Frequency.choices)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    next_send_at = models.DateTimeField()
    last_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "frequency"], name="one_report_subscription_per_frequency")]
        indexes = [models.Index(fields=["next_send_at"], name="report_subscription_due")]

    def __str__(self) -> str:
        return f"{self.user} {self.frequency}"
