"""Webhooks: an API client's subscriptions (where to POST which events, signed with which secrets) and each
delivery of an event to one of them, with the answers it got."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import models

from .config import ApiClient
from .effects import Effect

# What a subscription may ask for: every state change of the client's callbacks, and changes to their attached
# data or name.
STATE_CHANGED = "callback.state_changed"
UPDATED = "callback.updated"
WEBHOOK_EVENTS = (STATE_CHANGED, UPDATED)
# Answers kept per delivery (the last ones), and how much of each answer's body.
ANSWERS_KEPT = 10
ANSWER_BODY_CHARS = 500


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


class WebhookSubscription(models.Model):
    """Where one API client hears of its callbacks: a URL, the events it wants, and the secret that signs each call.
    During a rotation the previous secret signs too, until `previous_secret_until`."""

    api_client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500, help_text="Called with POST, JSON, signed (X-Ringback-Signature).")
    events = models.JSONField(default=list, help_text=f"Some of: {', '.join(WEBHOOK_EVENTS)}.")
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=64, default=new_secret)
    previous_secret = models.CharField(max_length=64, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The last history row examined for this subscription: the history is the webhooks' outbox.
    cursor = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["api_client", "id"]

    def __str__(self) -> str:
        return f"{self.api_client} → {self.url}"

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a call now: the current one, and the previous one during a rotation's overlap."""
        keep = self.previous_secret and self.previous_secret_until and self.previous_secret_until > now
        return [self.secret, self.previous_secret] if keep else [self.secret]


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one subscription. The outbox's `Effect` carries its tries; the answers
    the endpoint gave are kept here (the last ten)."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    effect = models.OneToOneField(Effect, null=True, blank=True, on_delete=models.SET_NULL, related_name="delivery")
    event_type = models.CharField(max_length=40)
    event = models.JSONField()
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    answers = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subscription", "-created_at"], name="delivery_subscription_newest")]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.event.get('id')} → {self.subscription_id}"
