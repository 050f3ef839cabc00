"""Intake: a customer asked to be called back (website, mobile app, IVR, API), or cancelled.

Owns: validating a request, matching or creating its contact, merging a
duplicate into the open callback for the same number and queue, the
customer's cancel, and the customer's confirmation and reminder e-mails (written in the customer's language,
`CallbackRequest.language`, else the centre's).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Func, OuterRef, Subquery
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext

from .. import calendars, dialplan, intake_schema, languages, links, throttle
from ..channels import spec
from ..enums import (
    OPEN_CALLBACK_STATES,
    CallbackEvent,
    CallbackState,
    CallbackType,
    CloseReason,
    EffectKind,
    HistoryKind,
    OfferOutcome,
)
from ..errors import DomainError, Invalid
from ..intake_schema import CallbackIn, parse
from ..models import ApiClient, CallbackRequest, Contact, ContactPhone, Offer, Queue
from ..phone import keyed_number, normalize_phone, validate_timezone, zone_for_number
from ..prepared import Prepared
from . import effects, texts
from .offers import route_on_commit, withdraw_open_offer
from .transitions import action, record, transition

# Types whose desired time is a promise to the customer: it must fall in an open slot with room.
PROMISED_TYPES = (CallbackType.SCHEDULED, CallbackType.DELAYED_PREVIEW)


# The request every front builds (`intake_schema`: one definition, validated once by `callback_request` or by the
# REST API's framework); this module checks what needs the database or the clock.
CallbackInput = CallbackIn
callback_request = parse


def _intake_queue(slug: str):
    """The active queue a request names, with how many callbacks wait in it (one statement, compiled once)."""
    waiting = CallbackRequest.objects.filter(queue=OuterRef("pk"), state=CallbackState.QUEUED).order_by()
    return (
        Queue.objects.filter(slug=slug, active=True)
        .annotate(waiting=Subquery(waiting.annotate(n=Func(F("id"), function="COUNT")).values("n")[:1]))
        .order_by("pk")[:1]
    )


INTAKE_QUEUE = Prepared(_intake_queue, slug="text")
CONTACT_BY_PHONE = Prepared(
    lambda number: ContactPhone.objects.select_related("contact").filter(number=number).order_by("id")[:1], number="text"
)


def _validate(req: CallbackInput, now: datetime, *, number_as_keyed: bool = False) -> tuple[Queue, str, str]:
    # Its shape (types, choices, lengths, ranges) is the schema's, checked once already (`intake_schema`).
    # PostgreSQL refuses NUL characters in text: say so before any query sees one.
    for name in ("queue", "customer_name", "instructions", "phone_number", "customer_timezone"):
        if "\x00" in str(getattr(req, name) or ""):
            raise Invalid(gettext("%(name)s contains a NUL character.") % {"name": name}, field=name)
    queue = INTAKE_QUEUE.first(slug=req.queue)
    if queue is None:
        raise Invalid(gettext("There is no active queue “%(queue)s”.") % {"queue": req.queue}, field="queue")
    try:
        phone = normalize_phone(req.phone_number)
    except Invalid:
        if not number_as_keyed:
            raise
        phone = keyed_number(req.phone_number)
    if (req.customer_timezone or "").strip():
        zone = validate_timezone(req.customer_timezone)
    else:
        zone = zone_for_number(phone, prefer=settings.TIME_ZONE)
    for name in ("desired_time", "window_start", "window_end"):
        value = getattr(req, name)
        if value is None:
            continue
        if timezone.is_naive(value):
            message = gettext("%(name)s needs a time zone offset, e.g. 2026-12-01T14:30:00+01:00.")
            raise Invalid(message % {"name": name}, field=name)
        try:
            too_early, too_late = value < now - timedelta(days=366), value > now + timedelta(days=366)
        except OverflowError:
            too_early, too_late = value.year < now.year, value.year > now.year
        if too_early:
            raise Invalid(gettext("%(name)s is in the past.") % {"name": name}, field=name)
        if too_late:
            raise Invalid(gettext("%(name)s is more than a year ahead.") % {"name": name}, field=name)
    if req.data is not None:
        check_data(req.data)
    if req.type == CallbackType.SCHEDULED and req.desired_time is None:
        raise Invalid(gettext("A scheduled callback needs a desired_time."), field="desired_time")
    if req.desired_time is not None and req.type == CallbackType.SCHEDULED and req.desired_time < now - timedelta(minutes=1):
        raise Invalid(gettext("%(name)s is in the past.") % {"name": "desired_time"}, field="desired_time")
    if req.window_start and req.window_end and req.window_end <= req.window_start:
        raise Invalid(gettext("The availability window must end after it starts."), field="window_end")
    if req.desired_time and req.window_start and req.window_end:
        if not (req.window_start <= req.desired_time <= req.window_end):
            raise Invalid(gettext("desired_time must fall inside the availability window."), field="desired_time")
    if req.desired_time and req.type in PROMISED_TYPES and req.desired_time > now:
        check_promised_time(queue, req.desired_time, now)
    check_window_reachable(queue, req.window_start, req.window_end, now)
    if req.email:
        try:
            validate_email(req.email)
        except ValidationError:
            raise Invalid(gettext("That is not an e-mail address."), field="email") from None
    if req.language and not languages.supported(req.language):
        message = gettext("Unknown language “%(value)s”; use one of %(choices)s.")
        choices = ", ".join(code for code, _ in settings.LANGUAGES)
        raise Invalid(message % {"value": str(req.language)[:20], "choices": choices}, field="language")
    return queue, phone, zone


def check_data(data: dict[str, Any]) -> None:
    """Attached data is plain JSON, at most 20,000 characters, with no NUL character (PostgreSQL refuses them)."""
    try:
        encoded = json.dumps(data, allow_nan=False)
    except (TypeError, ValueError):
        raise Invalid(gettext("data must be plain JSON (no NaN or Infinity)."), field="data") from None
    if "\\u0000" in encoded or len(encoded) > 20000:
        raise Invalid(gettext("data is too large or contains NUL characters."), field="data")


def slot_choices(slots: list[calendars.Slot]) -> list[dict]:
    """Free slots as plain data for a refusal's body: what a client can offer the customer instead."""
    return [{"start": s.start.isoformat(), "end": s.end.isoformat(), "remaining": s.remaining} for s in slots]


def check_promised_time(queue: Queue, when: datetime, now: datetime, *, excluding: int | None = None) -> None:
    """A time promised to a customer must be in an open slot of the queue with room left; the refusal names the
    nearest free slots."""
    slot = calendars.slot_at(queue, when, excluding=excluding)
    if slot is not None and slot.remaining > 0:
        return
    nearest = slot_choices(calendars.nearest_free(queue, when, now=now, excluding=excluding))
    if slot is None:
        raise Invalid(
            gettext("%(queue)s does not take calls at that time.") % {"queue": queue.name},
            field="desired_time",
            code="outside_hours",
            extra={"suggested_slots": nearest},
        )
    raise Invalid(
        gettext("That slot of %(queue)s is fully booked.") % {"queue": queue.name},
        field="desired_time",
        code="slot_full",
        extra={"suggested_slots": nearest},
    )


# When a full queue is worth asking again: about one call's handling, the time a place usually takes to free up.
QUEUE_FULL_RETRY_SECONDS = 300


def check_intake_limits(queue: Queue, phone: str, *, immediate: bool) -> None:
    """A queue takes at most `max_queued` waiting callbacks for now (scheduled ones have their slots), and a number
    at most `daily_requests_per_number` requests a day in a queue (counted in the shared cache)."""
    if immediate and queue.max_queued and (queue.waiting or 0) >= queue.max_queued:
        raise DomainError(
            gettext("%(queue)s already has %(count)s callbacks waiting; please try again later.")
            % {"queue": queue.name, "count": queue.max_queued},
            status=503,
            code="queue_full",
            extra={"retry_after": QUEUE_FULL_RETRY_SECONDS},
        )
    limit = queue.daily_requests_per_number
    wait = throttle.hit("number", f"{queue.pk}:{phone}", limit=limit, window=throttle.DAY)
    if wait is not None:
        raise DomainError(
            gettext("This number has already asked %(count)s times today in %(queue)s.") % {"count": limit, "queue": queue.name},
            status=429,
            code="number_limit",
            field="phone_number",
            extra={"retry_after": wait},
        )


def check_window_reachable(queue: Queue, window_start: datetime | None, window_end: datetime | None, now: datetime) -> None:
    if window_end is None:
        return
    if calendars.routable_from(calendars.spec_for(queue), now, window_start, window_end) is None:
        raise Invalid(
            gettext("%(queue)s is closed for the whole availability window.") % {"queue": queue.name},
            field="window_end",
            code="window_closed",
        )


def in_utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _contact_for(phone: str, customer_name: str, zone: str) -> Contact:
    existing = CONTACT_BY_PHONE.first(number=phone)
    if existing:
        return existing.contact
    first, _, last = customer_name.strip().partition(" ")
    contact = Contact.objects.create(first_name=first[:100], last_name=last[:100], timezone=zone)
    ContactPhone.objects.create(contact=contact, number=phone, label="mobile")
    return contact


def _merge_duplicate(queue: Queue, phone: str, origin: str, actor: AbstractBaseUser | None) -> CallbackRequest | None:
    existing = CallbackRequest.objects.filter(queue=queue, phone_number=phone, state__in=OPEN_CALLBACK_STATES).first()
    if existing:
        record(HistoryKind.DUPLICATE, f"Duplicate request from {origin} merged", callback=existing, actor=actor)
    return existing


def create_callback(
    *,
    request: CallbackInput,
    actor: AbstractBaseUser | None = None,
    api_client: ApiClient | None = None,
    arrived_at: datetime | None = None,
    number_as_keyed: bool = False,
    customer_dials_in: bool = False,
) -> tuple[CallbackRequest, bool]:
    """A customer asked to be called back. Returns (callback, created).

    Refused when the input is invalid. A request for a number that already
    has an open callback in the same queue returns that callback instead.
    `arrived_at` (Ringback's own voice menu only, never an API client's word): the moment the caller's call
    arrived, which an immediate callback keeps as its place in line. `number_as_keyed` (a GMS service that takes
    impossible numbers): a number that is no valid phone number is kept as keyed, digits only. `customer_dials_in`
    (GMS's USERORIGINATED): the customer calls the queue's entry number; agents are offered it only once they do.
    """
    now = timezone.now()
    queue, phone, zone = _validate(request, now, number_as_keyed=number_as_keyed)
    # Stored and compared in UTC: an offset PostgreSQL cannot hold (beyond ±15:59, which Python allows) never reaches it.
    request = request.model_copy(
        update={name: in_utc(getattr(request, name)) for name in ("desired_time", "window_start", "window_end")}
    )
    if not (number_as_keyed and not phone.startswith("+")):
        dialplan.check(queue, phone, field="phone_number")  # a number this queue may never call is refused now, not at Call
    # A number kept as keyed (GMS's impossible numbers, by the service's choice) meets the dial plan at Call, which
    # refuses what is not a full international number: the agent reaches that customer another way.
    check_intake_limits(queue, phone, immediate=request.type in (CallbackType.IMMEDIATE, CallbackType.DELAYED))
    # A duplicate (an IVR retrying, a double submit) is caught by the partial unique constraint on open
    # requests, below: the common case, a new request, pays no extra read for it.
    routable_now = request.type in (CallbackType.IMMEDIATE, CallbackType.DELAYED) or (
        request.desired_time is None or request.desired_time <= now
    )
    callback = CallbackRequest(
        channel=request.channel,
        type=request.type,
        origin=request.origin,
        queue=queue,
        contact=_contact_for(phone, request.customer_name, zone),
        api_client=api_client,
        customer_name=request.customer_name.strip()[:200],
        phone_number=phone,
        desired_time=request.desired_time or (now if routable_now else None),
        customer_timezone=zone,
        window_start=request.window_start,
        window_end=request.window_end,
        instructions=request.instructions.strip(),
        data=intake_schema.attached(request),
        priority=int(request.priority),
        type_rank=0 if request.type == CallbackType.IMMEDIATE else 1,
        max_attempts=int(request.max_attempts or queue.default_max_attempts),
        enqueued_at=(min(arrived_at, now) if arrived_at else now) if routable_now else None,
        customer_email=request.email.strip()[:254],
        language=languages.supported(request.language),
        customer_dials_in=customer_dials_in,
    )
    kind = spec(callback.channel).noun
    how = "; the customer is to call in" if customer_dials_in else ""
    try:
        with transaction.atomic():
            transition(
                callback,
                CallbackEvent.REQUESTED if routable_now else CallbackEvent.REQUESTED_LATER,
                now=now,
                message=f"{callback.get_type_display()} {kind} requested via {callback.get_origin_display()}{how}",
                actor=actor,
            )
    except IntegrityError:
        # The number already has an open request in this queue (or another request won the race): merge into it.
        existing = _merge_duplicate(queue, phone, request.origin, actor)
        if existing is None:
            raise
        return existing, False
    confirm_to_customer(callback, now)
    if routable_now:
        route_on_commit(queue.pk, callback.channel)
    return callback, True


do_create_callback = action(create_callback)


def customer_language(callback: CallbackRequest) -> str:
    """The language the customer's e-mails are written in: theirs, else the centre's own."""
    return callback.language or settings.LANGUAGE_CODE


def customer_time(callback: CallbackRequest, fmt: str) -> str:
    """The callback's time in the customer's zone, in a Django date format of the active language."""
    return date_format(callback.desired_time.astimezone(callback.customer_zone), fmt)


def when_text(callback: CallbackRequest) -> str:
    """When we call, as the customer's e-mails say it (in the active language)."""
    if callback.state == CallbackState.SCHEDULED and callback.desired_time:
        return gettext("on %(when)s (%(zone)s)") % {
            "when": customer_time(callback, gettext("l j F, H:i")),
            "zone": callback.customer_timezone,
        }
    return gettext("as soon as an agent is free")


def text_when(callback: CallbackRequest) -> str:
    """When we call, as a text says it (short: a text has 160 characters)."""
    if callback.state == CallbackState.SCHEDULED and callback.desired_time:
        return gettext("on %(when)s") % {"when": customer_time(callback, gettext("D j M, H:i"))}
    return gettext("as soon as an agent is free")


def confirm_to_customer(callback: CallbackRequest, now: datetime) -> None:
    """The customer hears their callback is booked, in their language, as the queue says (an e-mail to the address
    they gave, a text, or both): their reference, when we call, and their link to change or cancel."""
    by_mail, by_text = texts.notice_channels(callback)
    if by_text:
        with translation.override(customer_language(callback)):
            texts.text_customer(callback, texts.confirmation_text(callback, text_when(callback)), now, kind="confirmation")
    if by_mail:
        mail_confirmation(callback, now)


def remind_customer(callback: CallbackRequest, now: datetime) -> None:
    """Shortly before a scheduled callback, the customer is reminded as the queue says (e-mail, text or both)."""
    by_mail, by_text = texts.notice_channels(callback)
    if by_text:
        with translation.override(customer_language(callback)):
            texts.text_customer(callback, texts.reminder_text(callback, customer_time(callback, "H:i")), now, kind="reminder")
    if by_mail:
        mail_reminder(callback, now)


def mail_confirmation(callback: CallbackRequest, now: datetime) -> None:
    """A durable e-mail to the customer, in their language: their reference, when we call, and their link to change
    or cancel."""
    with translation.override(customer_language(callback)):
        subject = gettext("Your callback request %(reference)s") % {"reference": callback.reference}
        body = gettext(
            "Hello %(name)s,\n\nWe received your request %(reference)s: we will call %(phone)s %(when)s.\n\n"
            "To see it, change the time or cancel: %(link)s\n"
        ) % {
            "name": callback.customer_name or "",
            "reference": callback.reference,
            "phone": callback.phone_number,
            "when": when_text(callback),
            "link": links.manage_url(callback.reference),
        }
    effects.enqueue(
        EffectKind.EMAIL, payload={"to": callback.customer_email, "subject": subject, "body": body}, now=now, callback=callback
    )


def mail_reminder(callback: CallbackRequest, now: datetime) -> None:
    """A durable e-mail to the customer before a scheduled callback, in their language: when we call and their link."""
    with translation.override(customer_language(callback)):
        subject = gettext("We call you at %(time)s (%(reference)s)") % {
            "time": customer_time(callback, "H:i"),
            "reference": callback.reference,
        }
        body = gettext(
            "Hello %(name)s,\n\nA reminder: we will call %(phone)s %(when)s.\n\nTo change the time or cancel: %(link)s\n"
        ) % {
            "name": callback.customer_name or "",
            "phone": callback.phone_number,
            "when": when_text(callback),
            "link": links.manage_url(callback.reference),
        }
    effects.enqueue(
        EffectKind.EMAIL, payload={"to": callback.customer_email, "subject": subject, "body": body}, now=now, callback=callback
    )


@action
def do_cancel_callback(
    *, reference: str, actor: AbstractBaseUser | None = None, reason: str = "", by_admin: bool = False
) -> CallbackRequest:
    """The customer (or an integration, or an administrator) cancelled. Refused once the callback is closed or
    being worked."""
    callback = locked_open_callback(reference=reference)
    cancel_callback(callback, timezone.now(), actor=actor, reason=reason, by_admin=by_admin)
    return callback


def cancel_callback(
    callback: CallbackRequest, now: datetime, *, actor: AbstractBaseUser | None, reason: str, by_admin: bool
) -> None:
    """Cancel a waiting callback (locked by `locked_open_callback`): a ringing offer ends first."""
    rung = withdraw_open_offer(callback, now)
    callback.outcome = reason[:200] or "Cancelled"
    transition(
        callback,
        CallbackEvent.CANCEL,
        now=now,
        message=reason or "Cancelled",
        actor=actor,
        notify=rung,
        fields=["outcome"],
        close_reason=CloseReason.CANCELLED_BY_ADMIN if by_admin else None,
    )


def already_closed(callback: CallbackRequest) -> DomainError:
    """The refusal for a change to a closed callback, naming its state."""
    state = gettext(callback.get_state_display()).lower()
    return DomainError(gettext("This callback is already %(state)s.") % {"state": state}, code="closed")


def locked_open_callback(*, reference: str | None = None, pk: int | None = None) -> CallbackRequest:
    """The callback, locked with its ringing offer (offer first, the order accept uses); refused once an agent works
    it or it is closed."""
    by_offer = {"callback__reference": reference} if reference is not None else {"callback_id": pk}
    by = {"reference": reference} if reference is not None else {"pk": pk}
    list(Offer.objects.select_for_update(of=("self",)).filter(outcome=OfferOutcome.OPEN, **by_offer))
    callback = CallbackRequest.objects.select_for_update().select_related("queue").filter(**by).first()
    if callback is None:
        raise DomainError(gettext("No callback %(reference)s.") % {"reference": reference or pk}, status=404, code="not_found")
    if callback.state == CallbackState.IN_PROGRESS:
        raise DomainError(gettext("An agent is working on this callback; it can no longer be changed."), code="in_progress")
    if not callback.is_open:
        raise already_closed(callback)
    return callback


@action
def do_move_callback(
    *,
    reference: str,
    when: datetime,
    actor: AbstractBaseUser | None = None,
    by: str = "the customer",
    window: tuple[datetime | None, datetime | None] | None = None,
) -> CallbackRequest:
    """The customer (or their integration) moved a waiting callback to another time: it must be an open slot with
    room, inside their availability window (a new `window`, (start, end), replaces the old one first). A ringing
    offer is withdrawn; the callback is scheduled for `when`."""
    now = timezone.now()
    callback = locked_open_callback(reference=reference)
    fields = []
    if window is not None:
        set_window(callback, *window, now)
        fields = ["window_start", "window_end"]
    move_callback(callback, when, now, actor=actor, by=by, also=fields)
    return callback


def set_window(callback: CallbackRequest, start: datetime | None, end: datetime | None, now: datetime) -> None:
    """A new availability window for a waiting callback (not yet saved): either end may stay open, it must end after
    it starts and after now, and the queue must be open somewhere inside it."""
    for name, value in (("window_start", start), ("window_end", end)):
        if value is not None and timezone.is_naive(value):
            message = gettext("%(name)s needs a time zone offset, e.g. 2026-12-01T14:30:00+01:00.")
            raise Invalid(message % {"name": name}, field=name)
        if value is not None and not now - timedelta(days=366) < value < now + timedelta(days=366):
            raise Invalid(gettext("%(name)s must be within a year from now.") % {"name": name}, field=name)
    if start and end and end <= start:
        raise Invalid(gettext("The availability window must end after it starts."), field="window_end")
    if end is not None and end <= now:
        raise Invalid(gettext("%(name)s is in the past.") % {"name": "window_end"}, field="window_end")
    check_window_reachable(callback.queue, start, end, now)
    callback.window_start, callback.window_end = in_utc(start), in_utc(end)


def move_callback(
    callback: CallbackRequest,
    when: datetime,
    now: datetime,
    *,
    actor: AbstractBaseUser | None,
    by: str,
    overbook: bool = False,
    also: list[str] | None = None,
) -> None:
    """Schedule a waiting callback (locked by `locked_open_callback`) for `when`: an open slot (with room, unless a
    supervisor `overbook`s), inside the customer's availability window. A ringing offer is withdrawn."""
    if timezone.is_naive(when):
        raise Invalid(gettext("The new time needs a time zone offset."), field="desired_time")
    if not now - timedelta(days=366) < when < now + timedelta(days=366):
        raise Invalid(
            gettext("The new time must be within a year from now."),
            field="desired_time",
            code="past" if when < now else "invalid",
        )
    when = when.astimezone(UTC)
    if when < now + timedelta(minutes=1):
        raise Invalid(gettext("The new time is in the past."), field="desired_time", code="past")
    if when > now + timedelta(days=366):
        raise Invalid(gettext("The new time is more than a year ahead."), field="desired_time")
    if (callback.window_start and when < callback.window_start) or (callback.window_end and when > callback.window_end):
        raise Invalid(gettext("The new time is outside the customer's availability window."), field="desired_time", code="window")
    if overbook:
        if calendars.slot_at(callback.queue, when, excluding=callback.pk) is None:
            raise Invalid(
                gettext("%(queue)s does not take calls at that time.") % {"queue": callback.queue.name},
                field="desired_time",
                code="outside_hours",
            )
    else:
        check_promised_time(callback.queue, when, now, excluding=callback.pk)
    rung = withdraw_open_offer(callback, now)
    callback.desired_time = when
    callback.type = CallbackType.SCHEDULED
    callback.type_rank = 1
    callback.enqueued_at = None
    callback.reminded_at = None
    shown = when.astimezone(callback.customer_zone)
    transition(
        callback,
        CallbackEvent.MOVE,
        now=now,
        message=f"Moved by {by} to {shown:%a %d %b %Y %H:%M} ({callback.customer_timezone})",
        actor=actor,
        notify=rung,
        fields=["desired_time", "type", "type_rank", "enqueued_at", "reminded_at", *(also or [])],
        when=when.isoformat(),
    )


@action
def do_update_callback_data(
    *,
    reference: str,
    changes: dict[str, Any],
    customer_name: str | None = None,
    actor: AbstractBaseUser | None = None,
    by: str = "the customer",
) -> CallbackRequest:
    """Attached data (or the customer's name) changed by an integration: a key set to a value is stored, a key set
    to None or "" is removed. Refused once the callback is closed."""
    callback = CallbackRequest.objects.select_for_update().filter(reference=reference).first()
    if callback is None:
        raise DomainError(gettext("No callback %(reference)s.") % {"reference": reference}, status=404, code="not_found")
    if not callback.is_open:
        raise already_closed(callback)
    data = dict(callback.data)
    for key, value in changes.items():
        if value is None or value == "":
            data.pop(key, None)
        else:
            data[key] = value
    check_data(data)
    what = sorted(changes)
    callback.data = data
    fields = ["data", "updated_at"]
    if customer_name is not None and customer_name != callback.customer_name:
        if "\x00" in customer_name:
            raise Invalid(gettext("%(name)s contains a NUL character.") % {"name": "customer_name"}, field="customer_name")
        callback.customer_name = customer_name
        fields.append("customer_name")
        what.insert(0, "the customer's name")
    callback.save(update_fields=fields)
    record(
        HistoryKind.CONTACT,
        f"Attached data updated by {by}: {', '.join(what) or 'nothing'}",
        callback=callback,
        actor=actor,
        updated=what,
    )
    return callback
