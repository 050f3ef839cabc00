"""The contact directory: create and edit contacts, link a request to a contact.

Owns: contact validation (names, numbers, e-mail addresses, zone) and the
contact's history of edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext

from ..enums import HistoryKind
from ..errors import DomainError, Invalid
from ..models import CallbackRequest, Contact, ContactEmail, ContactPhone, HistoryEvent, agent_of
from ..phone import normalize_phone, validate_timezone
from ..push import Push, push_on_commit
from .transitions import action, locked_interaction_for, record


@dataclass
class ContactInput:
    first_name: str = ""
    last_name: str = ""
    timezone: str = ""
    notes: str = ""
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)


def _clean(data: ContactInput) -> ContactInput:
    first, last = data.first_name.strip()[:100], data.last_name.strip()[:100]
    if not first and not last:
        raise Invalid(gettext("A contact needs a first or last name."), field="first_name")
    zone = validate_timezone(data.timezone, field="timezone") if data.timezone.strip() else ""
    phones = []
    for raw in data.phones:
        if raw.strip():
            number = normalize_phone(raw)
            if number not in phones:
                phones.append(number)
    if not phones:
        raise Invalid(gettext("A contact needs at least one phone number."), field="phones")
    emails = []
    for raw in data.emails:
        raw = raw.strip().lower()
        if not raw:
            continue
        try:
            validate_email(raw)
        except ValidationError:
            raise Invalid(gettext("“%(address)s” is not an e-mail address.") % {"address": raw}, field="emails") from None
        if raw not in emails:
            emails.append(raw)
    if len(data.notes) > 5000:
        raise Invalid(gettext("Notes are at most 5000 characters."), field="notes")
    return ContactInput(first, last, zone, data.notes.strip(), phones, emails)


def _record_contact(contact: Contact, message: str, user: AbstractBaseUser, **data) -> None:
    agent = agent_of(user)
    record(HistoryKind.CONTACT, message, contact=contact, agent=agent, actor=user, **data)


@action
def do_update_contact(*, user: AbstractBaseUser, contact_id: int, data: ContactInput) -> Contact:
    """An agent edited a contact: every change is validated and recorded in the contact's history."""
    contact = Contact.objects.select_for_update().filter(pk=contact_id).first()
    if contact is None:
        raise DomainError(gettext("That contact does not exist."), status=404)
    clean = _clean(data)
    before = {
        "name": contact.full_name,
        "timezone": contact.timezone,
        "notes": contact.notes,
        "phones": list(contact.phones.values_list("number", flat=True)),
        "emails": list(contact.emails.values_list("address", flat=True)),
    }
    contact.first_name, contact.last_name, contact.timezone, contact.notes = (
        clean.first_name,
        clean.last_name,
        clean.timezone,
        clean.notes,
    )
    contact.save()
    contact.phones.exclude(number__in=clean.phones).delete()
    for number in clean.phones:
        ContactPhone.objects.get_or_create(contact=contact, number=number)
    contact.emails.exclude(address__in=clean.emails).delete()
    for address in clean.emails:
        ContactEmail.objects.get_or_create(contact=contact, address=address)
    after = {
        "name": contact.full_name,
        "timezone": contact.timezone,
        "notes": contact.notes,
        "phones": clean.phones,
        "emails": clean.emails,
    }

    def norm(value):
        return sorted(value) if isinstance(value, list) else value

    changed = [k for k in after if norm(after[k]) != norm(before[k])]
    if changed:
        _record_contact(contact, f"Contact edited ({', '.join(changed)})", user, before=before, after=after)
    return contact


@action
def do_create_contact(*, user: AbstractBaseUser, data: ContactInput) -> Contact:
    """An agent added a contact to the directory."""
    clean = _clean(data)
    contact = Contact.objects.create(
        first_name=clean.first_name, last_name=clean.last_name, timezone=clean.timezone, notes=clean.notes
    )
    for number in clean.phones:
        ContactPhone.objects.create(contact=contact, number=number)
    for address in clean.emails:
        ContactEmail.objects.create(contact=contact, address=address)
    _record_contact(contact, "Contact created", user)
    return contact


@action
def do_link_contact(*, user: AbstractBaseUser, interaction_id: int, contact_id: int) -> CallbackRequest:
    """The agent linked the request in their interaction to an existing contact."""
    interaction = locked_interaction_for(user, interaction_id)
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        raise Invalid(gettext("That contact does not exist."), field="contact")
    callback = interaction.callback
    if callback.contact_id == contact.pk:
        return callback
    callback.contact = contact
    callback.save(update_fields=["contact", "updated_at"])
    HistoryEvent.objects.filter(callback=callback).update(contact=contact)
    _record_contact(contact, f"Request {callback.reference} linked to this contact", user, reference=callback.reference)
    push_on_commit(Push.INTERACTION_CHANGED, agent_ids=[interaction.agent_id])
    return callback
