"""Text messages (SMS) to and from customers, and the numbers that asked for no more."""

from __future__ import annotations

from django.db import models
from django.utils.crypto import salted_hmac

# What a number check's text keeps instead of its code: the body at rest reads "… your code is ••••••", and the sender
# puts the code back (`number_check_code`) only as it hands the text to the gateway.
CODE_MASK = "••••••"


def number_check_code(check_id: int, nonce: str) -> str:
    """The 6-digit code texted for a number check: derived from SECRET_KEY, the check and a random nonce (kept in
    the text's effect), so the code itself is never stored, and a send retried after a crash texts the same code.
    Someone holding the database and SECRET_KEY learns no more than the check's HMAC of the code already tells them
    (a 6-digit code is one of a million)."""
    digest = salted_hmac("ringback.number-check-code", f"{check_id}:{nonce}", algorithm="sha256").digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


class TextMessage(models.Model):
    """One text: sent to a customer (a confirmation, a reminder) or received from one (a reply, STOP)."""

    class Direction(models.TextChoices):
        OUT = "out", "To the customer"
        IN = "in", "From the customer"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Not delivered"
        SUPPRESSED = "suppressed", "Not sent: the number opted out"
        RECEIVED = "received", "Received"

    direction = models.CharField(max_length=3, choices=Direction.choices)
    number = models.CharField(max_length=20, db_index=True, help_text="The customer's number")
    body = models.TextField()
    kind = models.CharField(max_length=20, help_text="confirmation, reminder, reply …")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    provider_id = models.CharField(max_length=64, blank=True, db_index=True, help_text="The gateway's id for it")
    callback = models.ForeignKey(
        "callbacks.CallbackRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="texts"
    )
    contact = models.ForeignKey("callbacks.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="texts")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.number}: {self.body[:40]}"


def opt_out_key(number: str) -> str:
    """What an erased person's opt-out keeps instead of their number: a keyed hash (HMAC with SECRET_KEY), so the
    number stays opted out without being stored."""
    return "hmac:" + salted_hmac("ringback.sms-opt-out", number, algorithm="sha256").hexdigest()[:48]


def opt_out_keys(numbers) -> list[str]:
    """The rows that say these numbers opted out: each number as it is, and as its keyed hash."""
    return [key for n in numbers for key in (n, opt_out_key(n))]


def opted_out(numbers) -> set[str]:
    """Those of `numbers` that texted STOP (before or after an erasure)."""
    numbers = list(numbers)
    found = set(SmsOptOut.objects.filter(number__in=opt_out_keys(numbers)).values_list("number", flat=True))
    return {n for n in numbers if n in found or opt_out_key(n) in found}


class SmsOptOut(models.Model):
    """A number that texted STOP: Ringback sends it no text until it texts START. After the person's erasure, the
    number is kept only as its keyed hash (`opt_out_key`)."""

    number = models.CharField(max_length=60, unique=True)
    opted_out_at = models.DateTimeField()
    keyword = models.CharField(max_length=20, blank=True)

    class Meta:
        verbose_name = "SMS opt-out"
        ordering = ["-opted_out_at"]

    def __str__(self) -> str:
        return self.number


class NumberCheck(models.Model):
    """A code texted to the number a visitor typed on the customer's page, before their request is taken: the code
    itself is never stored (only an HMAC of it), it expires after 10 minutes and allows 5 tries. The request waits
    here, as it was submitted, until the code is right."""

    token_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the page's token for this check")
    queue = models.ForeignKey("callbacks.Queue", on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=64)
    request = models.JSONField(help_text="The request as submitted, taken once the code is right")
    tries = models.PositiveSmallIntegerField(default=0)
    address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.number} ({self.created_at:%Y-%m-%d %H:%M})"


class TextInteraction(models.Model):
    """A text conversation window on the agent's desk, opened from a call window's Party Action Menu: the thread
    with one number (every `TextMessage` to and from it) and the agent's draft of the next text.

    The draft is kept here as the agent types, so it survives a reload. Each Send queues one `TextMessage` (through
    the outbox) and empties the draft; `sent` counts them, so a Send posted twice for the same draft sends once.
    `closed_at` is when the agent clicked Done.
    """

    agent = models.ForeignKey("callbacks.Agent", on_delete=models.CASCADE, related_name="text_interactions")
    callback = models.ForeignKey("callbacks.CallbackRequest", on_delete=models.CASCADE, related_name="text_interactions")
    contact = models.ForeignKey(
        "callbacks.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="text_interactions"
    )
    # The call window it was started from (its Party Action Menu).
    interaction = models.ForeignKey(
        "callbacks.Interaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="text_interactions"
    )
    number = models.CharField(max_length=20, help_text="The customer's number (E.164)")
    body = models.TextField(blank=True, help_text="The draft of the next text")
    sent = models.PositiveIntegerField(default=0, help_text="Texts sent from this window")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # A second "Text message" to the same number returns the open window instead of starting another.
            models.UniqueConstraint(
                fields=["agent", "number"],
                condition=models.Q(closed_at__isnull=True),
                name="one_text_window_per_agent_and_number",
            ),
        ]
        indexes = [
            # Who to push to when a text to or from a number changes: the open windows on that number.
            models.Index(fields=["number"], condition=models.Q(closed_at__isnull=True), name="text_open_by_number"),
        ]

    def __str__(self) -> str:
        return f"Text conversation with {self.number}{' (closed)' if self.closed_at else ''}"
