from django.db import models


class Line(models.TextChoices):
    """What the simulated customer's line is doing."""

    RINGING = "ringing", "Ringing"
    CONNECTED = "connected", "Connected"
    ON_HOLD = "on_hold", "On hold"
    ENDED = "ended", "Ended"


class SimCall(models.Model):
    """The simulated switch's own view of one call: what the line is doing, and what happens next."""

    call_ref = models.CharField(max_length=64, unique=True)
    token = models.CharField(max_length=40, unique=True, help_text="Secret part of the customer phone page URL.")
    number = models.CharField(max_length=20)
    caller_id = models.CharField(max_length=80, blank=True, help_text="What the customer's phone shows: name and number.")
    line = models.CharField(max_length=20, choices=Line.choices, default=Line.RINGING)
    next_event = models.CharField(max_length=20, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    keyed_by_agent = models.CharField(max_length=200, blank=True)
    log = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.call_ref} {self.number} ({self.line})"
