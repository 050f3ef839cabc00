"""How long the customers' data is kept: global defaults, and a queue's own where it differs. Applied by the clock
(`lifecycle.privacy.do_apply_retention` after a callback closes; `lifecycle.recordings.expire` after a recorded
call ends)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce

from .config import Queue

# What retention erases, each on its own schedule: the callback itself (its customer pseudonymised, and with it
# everything below), its history, its e-mails, its notes, its texts.
PARTS = ("callbacks", "history", "emails", "notes", "texts")
# Recordings' audio, counted from the end of their call; kept 90 days where nothing says otherwise.
RECORDINGS_DEFAULT_DAYS = 90
SETTINGS = (*PARTS, "recordings")


def days_field(what: str):
    return models.PositiveIntegerField(
        f"keep {what} for (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(36500)],
        help_text="Days after the callback closed. Empty: the global setting (empty there too: kept forever).",
    )


class RetentionPolicy(models.Model):
    """The global row (no queue) holds the defaults; a queue's row overrides those of its fields that are set."""

    queue = models.OneToOneField(
        Queue, null=True, blank=True, on_delete=models.CASCADE, related_name="retention", help_text="Empty: the global defaults."
    )
    callbacks_days = days_field("callbacks")
    history_days = days_field("history")
    emails_days = days_field("e-mails")
    notes_days = days_field("notes")
    texts_days = days_field("texts")
    recordings_days = models.PositiveIntegerField(
        "keep recordings for (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=f"Days after the call ended: the audio is deleted. Empty: the global setting (empty there too: "
        f"{RECORDINGS_DEFAULT_DAYS} days).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "retention policy"
        verbose_name_plural = "retention policies"
        ordering = [models.F("queue").asc(nulls_first=True)]
        constraints = [models.UniqueConstraint(Coalesce("queue", Value(0)), name="one_retention_policy_per_queue")]

    def __str__(self) -> str:
        return f"Retention: {self.queue}" if self.queue_id else "Retention: global defaults"


def retention_days(queue_ids) -> dict[int, dict[str, int | None]]:
    """Each queue's days per setting (None: kept forever): its own where set, else the global default (else 90 days
    for recordings)."""
    rows = {
        p.queue_id: p for p in RetentionPolicy.objects.filter(models.Q(queue__isnull=True) | models.Q(queue_id__in=queue_ids))
    }
    default = rows.get(None)
    result = {}
    for queue_id in queue_ids:
        own = rows.get(queue_id)
        result[queue_id] = {
            part: next(
                (getattr(p, f"{part}_days") for p in (own, default) if p is not None and getattr(p, f"{part}_days") is not None),
                RECORDINGS_DEFAULT_DAYS if part == "recordings" else None,
            )
            for part in SETTINGS
        }
    return result
