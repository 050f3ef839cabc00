"""The e-mail interaction windows on the desk, and a contact's sent e-mails."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext

from .. import emailstate
from ..enums import EmailState, EmailStatus
from ..errors import DomainError
from ..models import Agent, EmailInteraction
from ..phone import display_phone


@dataclass
class EmailWindow:
    """One e-mail interaction window: the draft or the sent e-mail, its status, and what the agent may do now."""

    email: EmailInteraction
    addresses: list[str]

    @property
    def status(self) -> EmailStatus:
        return self.email.status

    @property
    def status_label(self) -> str:
        return self.email.status_label

    @property
    def party_name(self) -> str:
        callback = self.email.callback
        contact = self.email.contact
        return (contact.full_name if contact else "") or callback.customer_name or display_phone(callback.phone_number)

    @property
    def to_choices(self) -> list[str]:
        """The contact's addresses, and the draft's own if the directory no longer lists it."""
        known = {a.lower() for a in self.addresses}
        return self.addresses + ([self.email.to] if self.email.to.lower() not in known else [])

    @property
    def can_send(self) -> bool:
        return emailstate.allowed("send", self.status)

    @property
    def can_done(self) -> bool:
        return emailstate.allowed("done", self.status)

    @property
    def attempts(self) -> int:
        return self.email.effect.attempts if self.email.effect_id else 0

    @property
    def problem(self) -> str:
        """Why the last try failed (the outbox's error), while it retries or once it gave up."""
        return self.email.effect.last_error if self.email.effect_id else ""


def open_emails(agent: Agent) -> list[EmailWindow]:
    """The agent's e-mail windows on the desk, oldest first: one query, and one for the addresses when any is open."""
    rows = list(
        EmailInteraction.objects.filter(agent=agent, closed_at__isnull=True)
        .select_related("callback", "contact", "effect")
        .prefetch_related("contact__emails")
        .order_by("created_at", "id")
    )
    return [EmailWindow(e, [a.address for a in e.contact.emails.all()] if e.contact_id else []) for e in rows]


def email_window_for(agent: Agent, email_id: int) -> EmailWindow:
    """One of the agent's own e-mail windows; another agent's (or none) is a 404."""
    email = (
        EmailInteraction.objects.filter(pk=email_id, agent=agent)
        .select_related("callback__queue", "callback__contact", "contact", "effect")
        .prefetch_related("contact__emails")
        .first()
    )
    if email is None:
        raise DomainError(gettext("That e-mail does not exist."), status=404)
    return EmailWindow(email, [a.address for a in email.contact.emails.all()] if email.contact_id else [])


def contact_emails(contact_id: int, limit: int = 50) -> list[EmailInteraction]:
    """The e-mails sent to the contact, newest first, with who sent them and what the outbox did (one query)."""
    return list(
        EmailInteraction.objects.filter(contact_id=contact_id, state=EmailState.SENT)
        .select_related("agent", "callback", "effect")
        .order_by("-sent_at", "-id")[:limit]
    )


def newest_email_draft(agent: Agent, interaction_id: int) -> int | None:
    """The agent's newest open draft started from this call window: where its Responses insert into an e-mail."""
    return (
        EmailInteraction.objects.filter(agent=agent, interaction_id=interaction_id, state=EmailState.DRAFT)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
