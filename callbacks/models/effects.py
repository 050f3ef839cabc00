"""Side effects that leave the database (switch commands, e-mail): the outbox and its truth."""

from django.db import models

from ..enums import EffectKind, EffectStatus
from .agents import Agent
from .work import CallbackRequest


class Effect(models.Model):
    """One thing to do outside the database, written in the same transaction as the action that asked for it.

    The task worker performs it with retries and back-off. `key` is the
    idempotency key (the call reference for a dial, an id for an e-mail): a
    retry or a second task row never performs an effect that is already done.
    """

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=EffectKind.choices)
    payload = models.JSONField(default=dict, blank=True)
    callback = models.ForeignKey(CallbackRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="effects")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=EffectStatus.choices, default=EffectStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    # No second runner starts it before this time (a runner that died mid-way is retried after it).
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status=EffectStatus.PENDING), name="effect_pending_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key} ({self.status})"
