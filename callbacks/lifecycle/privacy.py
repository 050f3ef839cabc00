"""A person's data: retention (the clock erases what expired, in batches) and a person's request to see their data
(export) or to have it erased. One erasing core, `erase`, serves both (docs/privacy.md says what goes and why).

Owns: finding a person by number or e-mail (`find_person`) and refusing while their work is in progress
(`refuse_if_worked`), the erasing core (`erase`, `erase_contacts`, `erase_identifiers`), the retention run
(`do_apply_retention`, called by the clock), and a person's erasure and export (`do_erase_person`,
`do_export_person`), each with its row in the trail.

What stays after an erasure is what the reports count: the callback row (its queue, channel, type, origin, state,
close reason, times, attempts), its offers, interactions (agent, disposition, times) and calls (times, outcome),
without the customer. What goes: the customer's name, number, address, attached data and instructions, the
callback's history, notes, e-mails, texts, recordings' audio, webhook deliveries' payloads, idempotent replies, the
outbox rows that carried their messages, admin log lines that named them; and for a request, the contact itself,
their number checks and voice menu calls. An opt-out (STOP) stays, as a keyed hash of the number.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext

from ..enums import CallbackState, EffectKind, HistoryKind, InteractionState
from ..errors import DomainError, Invalid
from ..models import (
    Call,
    CallbackRequest,
    CallParty,
    CallRecording,
    Consultation,
    Contact,
    ContactEmail,
    ContactPhone,
    Effect,
    EmailInteraction,
    HistoryEvent,
    IdempotencyRecord,
    Interaction,
    Note,
    NumberCheck,
    Queue,
    SmsOptOut,
    TextInteraction,
    TextMessage,
    VoiceSession,
    WebhookDelivery,
    recordings_storage,
)
from ..models.retention import PARTS, retention_days
from ..models.texts import opt_out_key
from ..phone import normalize_phone
from .intake import cancel_callback, locked_open_callback
from .recordings import delete_audio
from .transitions import action, record

BATCH = 200
# Number checks serve for ten minutes; a day after they expire they are gone, whatever the retention.
NUMBER_CHECKS_KEPT = timedelta(days=1)
# Where a callback is being worked: it is neither cancelled nor erased under the agent.
WORKED = (CallbackState.OFFERED, CallbackState.IN_PROGRESS)
# What a webhook delivery keeps of its event once its callback's customer is erased.
EVENT_KEPT = ("type", "id", "at", "reference", "queue", "state")


# --- Who: the person asked about, by number or e-mail ---------------------------------------------------------------


@dataclass
class Person:
    """Everything that identifies one person in Ringback: the numbers and addresses asked for and those their
    contacts and callbacks add, their contacts, and their callbacks (erased ones no longer match)."""

    numbers: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    contact_ids: set[int] = field(default_factory=set)
    callback_ids: set[int] = field(default_factory=set)


def _any_email(path: str, emails: Iterable[str]) -> Q:
    query = Q(pk__in=[])
    for address in emails:
        query |= Q(**{f"{path}__iexact": address})
    return query


def find_person(*, number: str = "", email: str = "") -> Person:
    """The person with this number (any form a person types; E.164 stored) or this e-mail address (any case)."""
    person = Person()
    if number.strip():
        person.numbers.add(normalize_phone(number))
    if email.strip():
        person.emails.add(email.strip().lower()[:254])
    if not person.numbers and not person.emails:
        raise Invalid(gettext("Give a phone number or an e-mail address."), field="number")
    for _ in range(2):  # what the contacts and the callbacks found add (their other numbers and addresses)
        person.contact_ids |= set(
            ContactPhone.objects.filter(number__in=person.numbers).values_list("contact_id", flat=True)
        ) | set(ContactEmail.objects.filter(_any_email("address", person.emails)).values_list("contact_id", flat=True))
        person.numbers |= set(ContactPhone.objects.filter(contact_id__in=person.contact_ids).values_list("number", flat=True))
        person.emails |= {
            a.lower() for a in ContactEmail.objects.filter(contact_id__in=person.contact_ids).values_list("address", flat=True)
        }
        callbacks = CallbackRequest.objects.filter(erased_at__isnull=True).filter(
            Q(phone_number__in=person.numbers)
            | Q(contact_id__in=person.contact_ids)
            | _any_email("customer_email", person.emails)
        )
        for pk, phone, address, contact_id in callbacks.values_list("pk", "phone_number", "customer_email", "contact_id"):
            person.callback_ids.add(pk)
            person.numbers.add(phone)
            if address:
                person.emails.add(address.lower())
            if contact_id:
                person.contact_ids.add(contact_id)
    person.numbers.discard("")
    person.emails.discard("")
    return person


def refuse_if_worked(person: Person) -> None:
    """Refused (409) while an agent works one of the person's callbacks: offered, accepted, on a call, in wrap-up (an
    open interaction), on an e-mail or text window, or the customer waiting on the line for an agent."""
    ids = person.callback_ids
    worked = (
        CallbackRequest.objects.filter(pk__in=ids).filter(Q(state__in=WORKED) | Q(on_line_since__isnull=False)).exists()
        or Interaction.objects.filter(callback_id__in=ids, state=InteractionState.OPEN).exists()
        or EmailInteraction.objects.filter(callback_id__in=ids, closed_at__isnull=True).exists()
        or TextInteraction.objects.filter(Q(callback_id__in=ids) | Q(number__in=person.numbers), closed_at__isnull=True).exists()
    )
    if worked:
        raise DomainError(
            gettext("A callback of this person is being worked (offered, on a call or in wrap-up): try again once it is done."),
            code="in_progress",
        )


# --- The erasing core -------------------------------------------------------------------------------------------------


def _admin_log(model, ids: Iterable[int]) -> tuple[Q, Q]:
    """Admin's log lines about these objects, and the trail's rows copied from them (`callbacks.audit`)."""
    ids = [str(i) for i in ids]
    kind = ContentType.objects.get_for_model(model)
    logs = Q(content_type=kind, object_id__in=ids)
    trail = Q(kind=HistoryKind.CONFIG, data__model=f"{kind.app_label}.{kind.model}", data__object_id__in=ids)
    return logs, trail


def _forget_admin_log(model, ids: Iterable[int]) -> Counter:
    logs, trail = _admin_log(model, ids)
    return Counter(admin_log=LogEntry.objects.filter(logs).delete()[0] + HistoryEvent.objects.filter(trail).purge())


def erase(callback_ids: Iterable[int], parts: Iterable[str], now: datetime) -> Counter:
    """Erase `parts` of these callbacks (some of `PARTS`; "callbacks", the customer on the callback itself, takes
    every other part with it). Rows are deleted, except what the reports count, which is pseudonymised. Returns
    how many rows of each kind were removed or emptied: counts, never people."""
    ids = list(callback_ids)
    parts = set(PARTS) if "callbacks" in parts else set(parts)
    counts: Counter = Counter()
    if not ids:
        return counts
    if "history" in parts:
        counts["history"] += HistoryEvent.objects.filter(callback_id__in=ids).purge()
    if "notes" in parts:
        counts["notes"] += Note.objects.filter(callback_id__in=ids).delete()[0]
    if "emails" in parts:
        emails = EmailInteraction.objects.filter(callback_id__in=ids)
        outbox = [pk for pk in emails.values_list("effect_id", flat=True) if pk]
        counts["emails"] += emails.delete()[0]
        # The outbox rows that carried them, and the confirmations and reminders sent to the customer's address.
        counts["emails"] += Effect.objects.filter(Q(pk__in=outbox) | Q(callback_id__in=ids, kind=EffectKind.EMAIL)).delete()[0]
    if "texts" in parts:
        counts["texts"] += TextMessage.objects.filter(callback_id__in=ids).delete()[0]
        counts["texts"] += TextInteraction.objects.filter(callback_id__in=ids).delete()[0]
    if "callbacks" in parts:
        counts += _pseudonymise(ids, now)
    return +counts


def _pseudonymise(ids: list[int], now: datetime) -> Counter:
    """The callbacks stay for the reports (their counts, times and outcomes), without their customer."""
    counts: Counter = Counter()
    for recording in CallRecording.objects.select_for_update().filter(callback_id__in=ids, deleted_at__isnull=True):
        counts["recordings"] += delete_audio(recording, now)
    Call.objects.filter(callback_id__in=ids).update(number="", transfer_number="", transfer_label="", transfer_key="")
    CallParty.objects.filter(call__callback_id__in=ids, agent__isnull=True).update(number="", label="")
    Consultation.objects.filter(call__callback_id__in=ids, to_agent__isnull=True).update(number="", label="", target="")
    Interaction.objects.filter(callback_id__in=ids).update(last_outcome="", closing_note="")
    VoiceSession.objects.filter(callback_id__in=ids).update(caller="")
    counts["outbox"] += Effect.objects.filter(callback_id__in=ids).delete()[0]
    references = list(CallbackRequest.objects.filter(pk__in=ids).values_list("reference", flat=True))
    for delivery in WebhookDelivery.objects.filter(event__reference__in=references):
        delivery.event = {key: delivery.event.get(key) for key in EVENT_KEPT}
        delivery.answers = []
        delivery.save(update_fields=["event", "answers"])
        counts["webhook_deliveries"] += 1
    counts["api_replies"] += IdempotencyRecord.objects.filter(body__reference__in=references).delete()[0]
    counts += _forget_admin_log(CallbackRequest, ids)
    counts["callbacks"] += CallbackRequest.objects.filter(pk__in=ids, erased_at__isnull=True).update(
        customer_name="",
        phone_number="",
        customer_email="",
        data={},
        instructions="",
        outcome="",
        contact=None,
        erased_at=now,
    )
    return counts


def erase_contacts(contact_ids: Iterable[int]) -> Counter:
    """Delete these contacts (their numbers, addresses and notes with them) and every row filed under them alone."""
    ids = list(contact_ids)
    counts: Counter = Counter()
    if not ids:
        return counts
    counts["history"] += HistoryEvent.objects.filter(contact_id__in=ids, callback__isnull=True).purge()
    counts["texts"] += TextMessage.objects.filter(contact_id__in=ids).delete()[0]
    counts["texts"] += TextInteraction.objects.filter(contact_id__in=ids).delete()[0]
    counts["emails"] += EmailInteraction.objects.filter(contact_id__in=ids).delete()[0]
    for model in (Contact, ContactPhone, ContactEmail):
        counts += _forget_admin_log(model, ids)
    counts["contacts"] += Contact.objects.filter(pk__in=ids).delete()[1].get("callbacks.Contact", 0)
    return counts


def erase_identifiers(person: Person) -> Counter:
    """Rows that hold the person's number or address without a callback or contact: texts, number checks, voice menu
    calls, e-mails and outbox rows; an opt-out is kept as the number's keyed hash."""
    counts: Counter = Counter()
    numbers, emails = list(person.numbers), person.emails
    counts["texts"] += TextMessage.objects.filter(number__in=numbers).delete()[0]
    counts["texts"] += TextInteraction.objects.filter(number__in=numbers).delete()[0]
    counts["number_checks"] += NumberCheck.objects.filter(number__in=numbers).delete()[0]
    counts["voice_sessions"] += VoiceSession.objects.filter(caller__in=numbers).update(caller="")
    counts["calls"] += CallParty.objects.filter(number__in=numbers).update(number="", label="")
    counts["calls"] += Consultation.objects.filter(number__in=numbers).update(number="", label="", target="")
    counts["emails"] += EmailInteraction.objects.filter(_any_email("to", emails)).delete()[0]
    counts["emails"] += Effect.objects.filter(kind=EffectKind.EMAIL).filter(_any_email("payload__to", emails)).delete()[0]
    for opt_out in SmsOptOut.objects.filter(number__in=numbers):
        SmsOptOut.objects.filter(number=opt_out_key(opt_out.number)).delete()
        SmsOptOut.objects.filter(pk=opt_out.pk).update(number=opt_out_key(opt_out.number))
        counts["opt_outs_hashed"] += 1
    return +counts


def summary(counts: Counter) -> str:
    return ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in sorted(counts.items())) or "nothing"


# --- Retention ---------------------------------------------------------------------------------------------------------


# The rows whose presence means a part of a callback is still there to erase.
PART_ROWS = {"history": HistoryEvent, "notes": Note, "emails": EmailInteraction, "texts": TextMessage}


def expired(queue_id: int, part: str, days: int, now: datetime):
    """Callbacks of the queue closed more than `days` ago that still have `part` (index cb_not_erased for callbacks)."""
    rows = CallbackRequest.objects.filter(queue_id=queue_id, closed_at__lte=now - timedelta(days=days))
    if part == "callbacks":
        rows = rows.filter(erased_at__isnull=True)
    else:
        rows = rows.filter(Exists(PART_ROWS[part].objects.filter(callback_id=OuterRef("pk"))))
    return rows.order_by("closed_at").values_list("pk", flat=True)


def orphaned(contact_ids: set[int]) -> set[int]:
    """Of these contacts, those left with no callback that still names its customer."""
    kept = set(
        CallbackRequest.objects.filter(contact_id__in=contact_ids, erased_at__isnull=True).values_list("contact_id", flat=True)
    )
    return contact_ids - kept


@action
def do_apply_retention(*, now: datetime | None = None, limit: int = BATCH) -> Counter:
    """The clock erases what each queue keeps no longer (at most `limit` callbacks a run, so a first run on years of
    data is many short runs). One row in the trail says what a run removed: counts, not people."""
    now = now or timezone.now()
    budget, counts = limit, Counter()
    queues = list(Queue.objects.values_list("pk", flat=True))
    for queue_id, days in retention_days(queues).items():
        for part in PARTS:
            if days[part] is None or budget <= 0:
                continue
            ids = list(expired(queue_id, part, days[part], now)[:budget])
            if not ids:
                continue
            list(CallbackRequest.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
            contacts = set(CallbackRequest.objects.filter(pk__in=ids, contact__isnull=False).values_list("contact_id", flat=True))
            counts += erase(ids, [part], now)
            if part == "callbacks":
                counts += erase_contacts(orphaned(contacts))
            budget -= len(ids)
    old_checks = NumberCheck.objects.filter(expires_at__lt=now - NUMBER_CHECKS_KEPT).values_list("pk", flat=True)[:limit]
    counts["number_checks"] += NumberCheck.objects.filter(pk__in=list(old_checks)).delete()[0]
    counts = +counts
    if counts:
        record(HistoryKind.PRIVACY, f"Retention removed {summary(counts)}", at=now, retention=dict(counts))
    return counts


# --- A person's request: erasure and export ---------------------------------------------------------------------------


@dataclass
class Erasure:
    erased: bool
    counts: dict[str, int]
    cancelled: int = 0


@action
def do_erase_person(*, number: str = "", email: str = "", by: str, actor: AbstractBaseUser | None = None) -> Erasure:
    """An admin (in admin, the command, or the API with an Admin token) erased a person's data at their request. Their
    waiting callbacks are cancelled first (agents' pages and the board update as for any cancellation); then the
    core erases. Refused while one of their callbacks is being worked. A second erasure finds nothing, and says so.
    The trail keeps that an erasure happened, when, by whom and how many rows: never who it was about."""
    person = find_person(number=number, email=email)
    refuse_if_worked(person)
    now = timezone.now()
    cancelled = 0
    for pk in sorted(
        CallbackRequest.objects.filter(
            pk__in=person.callback_ids, state__in=[CallbackState.SCHEDULED, CallbackState.QUEUED]
        ).values_list("pk", flat=True)
    ):
        callback = locked_open_callback(pk=pk)
        cancel_callback(
            callback, now, actor=actor, reason="Cancelled: the customer's data was erased at their request", by_admin=True
        )
        cancelled += 1
    counts = erase(person.callback_ids, PARTS, now) + erase_contacts(person.contact_ids) + erase_identifiers(person)
    if counts:
        record(
            HistoryKind.PRIVACY,
            f"A person's data was erased by {by}: {summary(counts)}",
            actor=actor,
            at=now,
            erasure=dict(counts),
        )
    else:
        record(
            HistoryKind.PRIVACY,
            f"Erasure asked by {by}: nothing to erase (already erased, or never known)",
            actor=actor,
            at=now,
            erasure={},
        )
    return Erasure(erased=bool(counts), counts=dict(counts), cancelled=cancelled)


def _rows(queryset, *fields: str) -> list[dict]:
    return list(queryset.values(*fields))


def person_data(person: Person) -> dict:
    """Everything Ringback holds about the person, as JSON data (GDPR articles 15 and 20)."""
    ids = person.callback_ids
    callbacks = []
    rows = CallbackRequest.objects.filter(pk__in=ids).order_by("created_at", "id")
    for columns, callback in zip(rows.values(), rows.select_related("queue"), strict=True):
        callbacks.append(
            {
                **columns,  # every column of the callback, as stored
                "queue": callback.queue.name,
                "history": _rows(callback.history.order_by("at", "id"), "at", "kind", "message", "data"),
                "notes": _rows(callback.notes.order_by("created_at", "id"), "created_at", "text"),
                "interactions": _rows(
                    callback.interactions.order_by("created_at", "id"),
                    "created_at",
                    "ended_at",
                    "channel",
                    "agent__display_name",
                    "disposition__label",
                    "closing_note",
                ),
                "calls": _rows(
                    Call.objects.filter(callback=callback).order_by("started_at", "id"),
                    "number",
                    "attempt",
                    "state",
                    "outcome",
                    "started_at",
                    "connected_at",
                    "ended_at",
                ),
                "emails": _rows(
                    EmailInteraction.objects.filter(callback=callback).order_by("created_at", "id"),
                    "to",
                    "subject",
                    "body",
                    "state",
                    "created_at",
                    "sent_at",
                ),
                "customer_emails": _rows(
                    Effect.objects.filter(callback=callback, kind=EffectKind.EMAIL).order_by("created_at", "id"),
                    "payload",
                    "status",
                    "created_at",
                    "finished_at",
                ),
                "recordings": [
                    {
                        "started_at": r.started_at,
                        "ended_at": r.ended_at,
                        "state": r.state,
                        "seconds": r.seconds,
                        "sha256": r.sha256,
                        "pauses": r.pauses,
                        "file": archive_name(r) if r.audio else None,
                        "deleted_at": r.deleted_at,
                    }
                    for r in callback.recordings.order_by("started_at", "id")
                ],
                "webhook_deliveries": _rows(
                    WebhookDelivery.objects.filter(event__reference=callback.reference).order_by("created_at", "id"),
                    "event_type",
                    "event",
                    "created_at",
                    "subscription__url",
                ),
            }
        )
    numbers = list(person.numbers)
    texts = TextMessage.objects.filter(Q(callback_id__in=ids) | Q(contact_id__in=person.contact_ids) | Q(number__in=numbers))
    return {
        "generated_at": timezone.now(),
        "numbers": sorted(person.numbers),
        "emails": sorted(person.emails),
        "contacts": [
            {
                "first_name": c.first_name,
                "last_name": c.last_name,
                "timezone": c.timezone,
                "notes": c.notes,
                "created_at": c.created_at,
                "phones": _rows(c.phones.all(), "number", "label"),
                "emails": _rows(c.emails.all(), "address", "label"),
                "history": _rows(c.history.filter(callback__isnull=True).order_by("at", "id"), "at", "kind", "message"),
            }
            for c in Contact.objects.filter(pk__in=person.contact_ids).order_by("pk")
        ],
        "callbacks": callbacks,
        "texts": _rows(texts.order_by("created_at", "id"), "direction", "number", "body", "kind", "status", "created_at"),
        "number_checks": _rows(
            NumberCheck.objects.filter(number__in=numbers).order_by("created_at"),
            "number",
            "request",
            "created_at",
            "confirmed_at",
        ),
        "sms_opt_outs": _rows(SmsOptOut.objects.filter(number__in=numbers), "number", "opted_out_at", "keyword"),
        "voice_calls": _rows(
            VoiceSession.objects.filter(caller__in=numbers).order_by("arrived_at"),
            "caller",
            "dialled",
            "arrived_at",
            "ended_at",
            "outcome",
        ),
    }


def archive_name(recording: CallRecording) -> str:
    return f"recordings/{recording.callback.reference}-{recording.pk}{PurePosixPath(recording.audio.name).suffix or '.wav'}"


def is_known(person: Person) -> bool:
    numbers = list(person.numbers)
    return bool(
        person.callback_ids
        or person.contact_ids
        or TextMessage.objects.filter(number__in=numbers).exists()
        or NumberCheck.objects.filter(number__in=numbers).exists()
        or VoiceSession.objects.filter(caller__in=numbers).exists()
    )


@action
def do_export_person(*, number: str = "", email: str = "", by: str, actor: AbstractBaseUser | None = None) -> bytes:
    """An admin exported a person's data at their request: a zip of `person.json` and the recordings' audio. Changes
    nothing but the trail (a row saying an export happened, by whom, how big: not who). Refused while one of their
    callbacks is being worked (the data would be half-written), and (404) for a person Ringback does not know."""
    person = find_person(number=number, email=email)
    refuse_if_worked(person)
    if not is_known(person):
        raise DomainError(gettext("Ringback holds no data about this person."), status=404, code="not_found")
    data = person_data(person)
    archive = io.BytesIO()
    recordings = CallRecording.objects.filter(callback_id__in=person.callback_ids, deleted_at__isnull=True).exclude(audio="")
    files = 0
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("person.json", json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))
        for recording in recordings.select_related("callback"):
            with recordings_storage().open(recording.audio.name, "rb") as audio:
                bundle.writestr(archive_name(recording), audio.read())
            files += 1
    record(
        HistoryKind.PRIVACY,
        f"A person's data was exported by {by}: {len(data['callbacks'])} callbacks, {files} recordings",
        actor=actor,
        export={"callbacks": len(data["callbacks"]), "recordings": files, "contacts": len(data["contacts"])},
    )
    return archive.getvalue()
