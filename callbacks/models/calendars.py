"""Business calendars: when a queue takes calls, and how many callbacks it may promise per slot."""

from django.core.exceptions import ValidationError
from django.db import models

from .config import TIMEZONE_CHOICES

WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"), (5, "Saturday"), (6, "Sunday")]

# Slot lengths that divide an hour or a day evenly (the lengths GMS allows for its time buckets).
SLOT_LENGTHS = (5, 10, 15, 20, 30, 60, 120)

TIME_HELP = "00:00 as the closing time means midnight; a closing time before the opening time runs past midnight."


class BusinessCalendar(models.Model):
    """Weekly opening hours, holidays and exceptions in one time zone, and the scheduling slots they are cut into."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(
        max_length=64, choices=TIMEZONE_CHOICES, default="Europe/Paris", help_text="The zone the hours are written in."
    )
    slot_minutes = models.PositiveSmallIntegerField(
        default=15,
        choices=[(m, f"{m} minutes") for m in SLOT_LENGTHS],
        help_text="Length of a scheduling slot offered to customers and agents.",
    )
    slot_capacity = models.PositiveSmallIntegerField(
        default=10, help_text="How many scheduled callbacks may be promised in one slot (0: none)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    """One range of a weekday's opening; a day may have several (e.g. a lunch break)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    opens = models.TimeField()
    closes = models.TimeField(help_text=TIME_HELP)

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = "opening hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class CalendarException(models.Model):
    """A holiday (closed all day) or a day with other hours than the week's; several rows make several ranges."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField()
    name = models.CharField(max_length=100, help_text="e.g. Christmas Day, Inventory")
    closed = models.BooleanField(default=True, help_text="Closed all day. Untick and give hours to open differently.")
    opens = models.TimeField(null=True, blank=True)
    closes = models.TimeField(null=True, blank=True, help_text=TIME_HELP)

    class Meta:
        ordering = ["date", "opens"]
        indexes = [models.Index(fields=["calendar", "date"], name="calendar_exception_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"

    def clean(self) -> None:
        if not self.closed and (self.opens is None or self.closes is None):
            raise ValidationError("A day that is not closed needs its opening and closing times.")
