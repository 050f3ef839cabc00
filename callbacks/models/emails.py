"""E-mail interactions: an agent writes to a contact from the Party Action Menu; the outbox sends it."""

from django.db import models
from django.db.models import Q

from .. import emailstate
from ..enums import EmailState, EmailStatus
from .agents import Agent
from .contacts import Contact
from .effects import Effect
from .work import CallbackRequest, Interaction


class EmailInteraction(models.Model):
    """An e-mail interaction window on the agent's desk, on the e-mail channel, for a callback's contact.

    The draft (to, subject, body) is kept here as the agent types, so it
    survives a reload. Send hands it to the outbox (`effect`), which delivers it
    with retries; the window then shows the outbox's truth. `closed_at` is when
    the window left the desk (discarded, or Done after sending).
    """

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="email_interactions")
    callback = models.ForeignKey(CallbackRequest, on_delete=models.CASCADE, related_name="email_interactions")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="email_interactions")
    # The call window it was started from (its Party Action Menu).
    interaction = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="email_interactions"
    )
    to = models.EmailField()
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=EmailState.choices, default=EmailState.DRAFT)
    effect = models.OneToOneField(Effect, null=True, blank=True, on_delete=models.SET_NULL, related_name="email")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # A second "E-mail" on the same contact focuses the open draft instead of starting another.
            models.UniqueConstraint(
                fields=["agent", "contact"], condition=Q(state=EmailState.DRAFT), name="one_email_draft_per_agent_and_contact"
            ),
            models.CheckConstraint(condition=~Q(state=EmailState.SENT) | Q(sent_at__isnull=False), name="sent_email_has_sent_at"),
        ]
        indexes = [
            models.Index(fields=["agent"], condition=Q(closed_at__isnull=True), name="email_open_by_agent"),
            models.Index(fields=["contact", "sent_at"], condition=Q(state=EmailState.SENT), name="email_sent_by_contact"),
        ]

    def __str__(self) -> str:
        return f"E-mail to {self.to}: {self.subject or '(no subject)'} ({self.get_state_display()})"

    @property
    def status(self) -> EmailStatus:
        """What the window shows (Draft, Queued, Sent, Failed, Discarded): reads `effect` once sent."""
        return emailstate.status_of(self.state, self.effect.status if self.effect_id else None)

    @property
    def status_label(self) -> str:
        return EmailStatus(self.status).label
