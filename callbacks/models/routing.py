"""Routing points: a number on the switch that is also a Team Communicator target, and rules that choose a queue.

A queue names a routing point for callbacks it sends on after Reject or an
unanswered offer (`Queue.reject_point`, `Queue.timeout_point`); a transfer to a
routing point lands in the queue its rules choose. Rules are tried in order:
the first whose condition holds wins; when none does, the point's own queue
(or, after Reject or time-out, the callback's own queue) takes it.
"""

from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import models

from ..enums import RuleCondition
from .config import TIMEZONE_CHOICES, Queue


class RoutingPoint(models.Model):
    """A Team Communicator target: a number on the switch, optionally feeding a queue, optionally by rules."""

    name = models.CharField(max_length=100, unique=True)
    number = models.CharField(max_length=20)
    queue = models.ForeignKey(
        Queue, null=True, blank=True, on_delete=models.SET_NULL, help_text="Where a callback goes when no rule applies."
    )
    timezone = models.CharField(
        max_length=64, choices=TIMEZONE_CHOICES, default="Europe/Paris", help_text="For time-of-day rules."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RoutingRule(models.Model):
    point = models.ForeignKey(RoutingPoint, on_delete=models.CASCADE, related_name="rules")
    order = models.PositiveSmallIntegerField(default=0)
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+", help_text="Send the callback to this queue…")
    condition = models.CharField(max_length=20, choices=RuleCondition.choices, default=RuleCondition.ALWAYS)
    minutes = models.PositiveIntegerField(null=True, blank=True, help_text="For “oldest wait under N minutes”.")
    starts = models.TimeField(null=True, blank=True, help_text="For “between two times”: from (inclusive).")
    ends = models.TimeField(null=True, blank=True, help_text="For “between two times”: until (exclusive; may be after midnight).")

    class Meta:
        ordering = ["point", "order", "id"]

    def __str__(self) -> str:
        return f"{self.point}: {self.get_condition_display()} → {self.queue}"

    def clean(self) -> None:
        if self.condition == RuleCondition.WAIT_UNDER and not self.minutes:
            raise ValidationError({"minutes": "Give the number of minutes."})
        if self.condition == RuleCondition.TIME_OF_DAY and (self.starts is None or self.ends is None or self.starts == self.ends):
            raise ValidationError({"ends": "Give two different times."})
