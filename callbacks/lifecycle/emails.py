"""The e-mail interaction: an agent writes to the contact from the Party Action Menu, and the outbox sends it.

Owns: opening an e-mail interaction window (one draft per agent and contact:
a second "E-mail" returns the open draft), keeping the draft on the server as
the agent types, Send (checked, then handed to the outbox, the `Effect` layer,
which delivers with retries and an idempotency key), Discard, and Done; the
look-up that locks an agent's own e-mail (`locked_email_for`, 404 otherwise).

Only what was sent is the contact's history ("E-mail queued to … by …", then
the outbox's "sent" or "failed"); a draft is the agent's own working copy, so
opening, keeping, discarding and closing it write no history row and leave the
call window alone (they push the e-mail windows' region only).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from .. import emailstate
from ..enums import EffectKind, EmailState, HistoryKind
from ..errors import DomainError, Invalid, too_long
from ..models import ContactEmail, EmailInteraction
from ..push import Push, push_on_commit
from . import effects
from .transitions import action, locked_interaction_for, locked_own, record

SUBJECT_MAX = 200
BODY_MAX = 10000


def subject_for(callback) -> str:
    """What a new e-mail's Subject says, in the customer's language: the callback's reference, which they quote back."""
    with translation.override(callback.language or settings.LANGUAGE_CODE):
        return gettext("Your callback request %(reference)s") % {"reference": callback.reference}


def contact_addresses(contact_id: int | None) -> list[str]:
    """The contact's addresses in the directory, in their order: what an e-mail may be sent to."""
    if not contact_id:
        return []
    return list(ContactEmail.objects.filter(contact_id=contact_id).order_by("id").values_list("address", flat=True))


def directory_address(to: str, addresses: list[str]) -> str:
    """`to` as the directory spells it; refused when it is no address, or not one of the contact's."""
    to = (to or "").strip()
    if not to:
        raise Invalid(gettext("Choose the address to send to."), field="to")
    try:
        validate_email(to)
    except ValidationError:
        raise Invalid(gettext("“%(address)s” is not an e-mail address.") % {"address": to[:80]}, field="to") from None
    for address in addresses:
        if address.lower() == to.lower():
            return address
    raise Invalid(gettext("Pick one of the contact's e-mail addresses."), field="to")


def checked_message(subject: str, body: str, *, complete: bool) -> tuple[str, str]:
    """Subject and body as they will be kept: single-line subject, bounded lengths; `complete` (Send) also wants
    both filled in. A draft keeps the body as typed."""
    subject = (subject or "").strip()
    body = body or ""
    if "\n" in subject or "\r" in subject:
        raise Invalid(gettext("The subject must be a single line."), field="subject")
    if len(subject) > SUBJECT_MAX:
        message = gettext("The subject is too long: at most %(max)s characters (it has %(count)s).")
        raise too_long(message, limit=SUBJECT_MAX, count=len(subject), field="subject")
    if len(body) > BODY_MAX:
        message = gettext("The message is too long: at most %(max)s characters (it has %(count)s).")
        raise too_long(message, limit=BODY_MAX, count=len(body), field="body")
    if complete:
        body = body.strip()
        if not subject:
            raise Invalid(gettext("The e-mail needs a subject."), field="subject")
        if not body:
            raise Invalid(gettext("The message is empty: write something before Send."), field="body")
    return subject, body


def locked_email_for(user: AbstractBaseUser, email_id: int) -> EmailInteraction:
    """The user's own e-mail interaction, locked. Another agent's is a 404, as if it did not exist."""
    rows = EmailInteraction.objects.select_related("callback", "effect")
    return locked_own(rows, user, email_id, missing=gettext("That e-mail does not exist."))


def _open_window(email: EmailInteraction) -> None:
    if email.closed_at is not None:
        raise DomainError(gettext("This e-mail window is already closed."))


@action
def do_open_email(*, user: AbstractBaseUser, interaction_id: int, to: str) -> EmailInteraction:
    """Party Action Menu → "E-mail <address>": an e-mail interaction window opens on the desk, beside the call.

    Its Subject names the callback's reference. Refused for an address the
    contact directory does not have for this contact. While a draft to the same
    contact is open, that draft is returned (the page focuses it) instead.
    """
    interaction = locked_interaction_for(user, interaction_id)
    callback = interaction.callback
    to = directory_address(to, contact_addresses(callback.contact_id))
    drafts = EmailInteraction.objects.select_for_update().filter(
        agent=interaction.agent, contact_id=callback.contact_id, state=EmailState.DRAFT
    )
    draft = drafts.first()
    if draft is not None:
        return draft
    now = timezone.now()
    try:
        with transaction.atomic():  # a savepoint: the same contact's E-mail clicked in two call windows at once
            email = EmailInteraction.objects.create(
                agent=interaction.agent,
                callback=callback,
                contact_id=callback.contact_id,
                interaction=interaction,
                to=to,
                subject=subject_for(callback),
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # the other click made the draft (one per agent and contact): that one is focused
        return drafts.get()
    push_on_commit(Push.EMAIL_CHANGED, agent_ids=[interaction.agent_id])
    return email


@action
def do_save_email_draft(*, user: AbstractBaseUser, email_id: int, to: str, subject: str, body: str) -> EmailInteraction:
    """The agent typed in the draft: it is kept on the server (it survives a reload).

    Refused for an address not the contact's or a text too long. A save that
    arrives after Send or Discard (the last keystrokes' autosave) changes nothing.
    Not pushed: the page that typed it shows it already.
    """
    email = locked_email_for(user, email_id)
    if email.closed_at is not None or not emailstate.allowed("save", email.status):
        return email
    to = directory_address(to, contact_addresses(email.contact_id)) if (to or "").strip() else email.to
    subject, body = checked_message(subject, body, complete=False)
    if (email.to, email.subject, email.body) == (to, subject, body):
        return email
    email.to, email.subject, email.body, email.updated_at = to, subject, body, timezone.now()
    email.save(update_fields=["to", "subject", "body", "updated_at"])
    return email


@action
def do_send_email(*, user: AbstractBaseUser, email_id: int, to: str, subject: str, body: str) -> EmailInteraction:
    """The agent clicked Send in the e-mail window: the e-mail goes to the outbox, the worker delivers it.

    Refused (400) for an empty subject or message, an address that is not the
    contact's, a multi-line subject or a text too long; (409) once sent or
    discarded. The window shows Queued, then Sent or Failed (with why); the
    callback's history records it, which the contact's history shows.
    """
    email = locked_email_for(user, email_id)
    _open_window(email)
    emailstate.check("send", email.status)
    to = directory_address(to, contact_addresses(email.contact_id))
    subject, body = checked_message(subject, body, complete=True)
    now = timezone.now()
    effect = effects.enqueue(
        EffectKind.EMAIL,
        payload={"to": to, "subject": subject, "body": body},
        now=now,
        callback=email.callback,
        agent=email.agent,
    )
    email.to, email.subject, email.body = to, subject, body
    email.state, email.effect, email.sent_at, email.updated_at = EmailState.SENT, effect, now, now
    email.save(update_fields=["to", "subject", "body", "state", "effect", "sent_at", "updated_at"])
    record(
        HistoryKind.EMAIL,
        f"E-mail queued to {to} by {email.agent}: {subject}",
        callback=email.callback,
        agent=email.agent,
        actor=user,
        at=now,
        to=to,
        subject=subject,
        effect=effect.key,
        email=email.pk,
    )
    push_on_commit(Push.EMAIL_CHANGED, agent_ids=[email.agent_id])
    # The call window's Case history shows the e-mail too (its typed fields are kept across the render).
    push_on_commit(Push.INTERACTION_CHANGED, agent_ids=[email.agent_id])
    return email


@action
def do_discard_email(*, user: AbstractBaseUser, email_id: int) -> EmailInteraction:
    """The agent clicked Discard: the draft is dropped unsent and its window closes. Refused once sent."""
    email = locked_email_for(user, email_id)
    _open_window(email)
    emailstate.check("discard", email.status)
    now = timezone.now()
    email.state, email.closed_at, email.updated_at = EmailState.DISCARDED, now, now
    email.save(update_fields=["state", "closed_at", "updated_at"])
    push_on_commit(Push.EMAIL_CHANGED, agent_ids=[email.agent_id])
    return email


@action
def do_close_email(*, user: AbstractBaseUser, email_id: int) -> EmailInteraction:
    """The agent clicked Done on a sent e-mail: its window leaves the desk (a queued e-mail is still delivered,
    and its outcome is in the contact's history). Refused for a draft: Send or Discard it first."""
    email = locked_email_for(user, email_id)
    _open_window(email)
    emailstate.check("done", email.status)
    email.closed_at = timezone.now()
    email.save(update_fields=["closed_at"])
    push_on_commit(Push.EMAIL_CHANGED, agent_ids=[email.agent_id])
    return email
