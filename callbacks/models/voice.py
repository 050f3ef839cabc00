"""The voice entry: numbers customers call to ask for a callback on the phone, and each call in Ringback's menu.

An `EntryNumber` belongs to a queue; a call to it reaches Ringback's voice application (`callbacks.voice`) through
kamailio, which asks Ringback which of the application's lines takes it (`/sip/entry`). The answer opens a
`VoiceSession` keyed by the SIP Call-ID, stamped with the moment the call arrived: a callback booked from the menu
keeps that moment as its place in line. A session records how the call ended; a caller who hangs up before
confirming leaves the session alone behind, never a callback.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from ..errors import Invalid
from ..phone import normalize_phone

VOICE_LANGUAGES = [("en", "English"), ("fr", "Français"), ("es", "Español")]


class EntryNumber(models.Model):
    queue = models.ForeignKey("callbacks.Queue", on_delete=models.CASCADE, related_name="entry_numbers")
    number = models.CharField(
        max_length=20,
        unique=True,
        help_text="A number customers call to ask this queue for a callback (E.164, e.g. “+33 1 84 88 00 10”). "
        "Calls to it through the SIP proxy (from the carrier, or a registered line) hear the queue's callback menu.",
    )
    language = models.CharField(
        max_length=5, choices=VOICE_LANGUAGES, default="en", help_text="The language the menu speaks on this number."
    )
    active = models.BooleanField(default=True, help_text="Off: calls to this number are not answered by the menu.")

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        try:
            self.number = normalize_phone(self.number)
        except Invalid as error:
            raise ValidationError({"number": error.message}) from None


class VoiceOutcome(models.TextChoices):
    IN_MENU = "", "In the menu"
    BOOKED = "booked", "Callback booked"
    KEPT = "kept", "Kept the open callback"
    CANCELLED = "cancelled", "Cancelled the open callback"
    HUNG_UP = "hung_up", "Hung up before confirming"
    NO_INPUT = "no_input", "No key pressed"
    INVALID = "invalid", "No valid number keyed"
    FAILED = "failed", "The menu failed"
    CONNECTED = "connected", "Handed to an agent"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no_answer", "Not answered (or no key)"
    MOVED = "moved", "Chose another time"
    APOLOGISED = "apologised", "No agent in time: a new time booked"
    LEFT = "left", "Hung up while waiting for an agent"


class Direction(models.TextChoices):
    IN = "in", "Called the entry number"
    OUT = "out", "Called back first (customer-first dialling)"


class VoiceSession(models.Model):
    """One call in the voice menu, from the moment kamailio asked which line takes it to its end."""

    call_id = models.CharField(max_length=200, unique=True, help_text="The SIP Call-ID.")
    line = models.CharField(max_length=20, help_text="The voice application's line that answered it (ivr-N).")
    entry = models.ForeignKey(EntryNumber, null=True, on_delete=models.SET_NULL, related_name="+")
    queue = models.ForeignKey("callbacks.Queue", on_delete=models.CASCADE, related_name="+")
    dialled = models.CharField(max_length=20)
    caller = models.CharField(max_length=20, blank=True, help_text="The caller's number in E.164, when it is one.")
    language = models.CharField(max_length=5, default="en")
    arrived_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=VoiceOutcome.choices, blank=True, default=VoiceOutcome.IN_MENU)
    callback = models.ForeignKey("callbacks.CallbackRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.IN)
    answered_at = models.DateTimeField(null=True, blank=True)
    refer_to = models.CharField(
        max_length=40, blank=True, help_text="Customer first: the agent's SIP user the customer is handed to (a REFER)."
    )

    class Meta:
        ordering = ["-arrived_at"]
        indexes = [models.Index(fields=["ended_at"], condition=Q(ended_at__isnull=False), name="voice_session_ended")]
        constraints = [
            # A line answers one call at a time: two questions at once cannot give both calls the same line.
            models.UniqueConstraint(fields=["line"], condition=Q(ended_at__isnull=True), name="voice_line_one_call"),
        ]

    def __str__(self) -> str:
        return f"{self.caller or 'unknown'} → {self.dialled} ({self.line})"
