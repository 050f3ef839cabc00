"""REST API v1: integrations (website back end, mobile app, IVR) create, find, move and cancel callbacks, and ask
for free slots, with a bearer token per client (Django admin → API clients).

Every answer and refusal is in the OpenAPI document (`/api/v1/openapi.json`); refusals are JSON with a
machine-readable `code`. A client sees and learns only its own callbacks. Every unsafe operation honours
`Idempotency-Key` (but a person's export, see `privacy`).
Each client has a per-minute request budget and each number a daily one per queue, counted in Django's cache
(`callbacks.throttle`); both answer 429 with `Retry-After`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from .. import calendars, intake_schema, throttle
from ..enums import CallbackState, CallbackType, Channel, HistoryKind, Origin
from ..errors import DomainError
from ..lifecycle import (
    do_cancel_callback,
    do_create_callback,
    do_move_callback,
    do_update_callback_data,
)
from ..models import ApiClient, CallbackRequest, HistoryEvent, IdempotencyRecord, Interaction, Queue
from ..phone import validate_timezone
from ..presenters import schedule

# How long an Idempotency-Key's answer is kept, and how long a first request may run before a retry takes over.
IDEMPOTENCY_TTL = timedelta(hours=24)
IDEMPOTENCY_STALE = timedelta(minutes=1)


class Throttled(Exception):
    def __init__(self, message: str, retry_after: int, code: str) -> None:
        super().__init__(message)
        self.message, self.retry_after, self.code = message, retry_after, code


def throttle_client(client: ApiClient) -> None:
    wait = throttle.hit("client", str(client.pk), limit=client.requests_per_minute, window=60)
    if wait is not None:
        raise Throttled(f"Too many requests: this client may make {client.requests_per_minute} a minute.", wait, "rate_limited")


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiClient | None:
        address = request.META.get("REMOTE_ADDR", "")
        wait = throttle.bad_token_wait(address)
        if wait is not None:
            raise Throttled("Too many wrong tokens from this address: try again later.", wait, "too_many_bad_tokens")
        client = ApiClient.for_token(token)
        if client is None:
            throttle.bad_token(address)
            return None
        now = timezone.now()
        # "Last used" to the minute: not a write on every request of a busy integration.
        if client.last_used_at is None or now - client.last_used_at > timedelta(minutes=1):
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        throttle_client(client)
        return client


# Headers the prose names, declared in the document too.
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true`: the first answer to this Idempotency-Key, replayed (nothing was done again)",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "Any string you choose per request (a UUID): a retry with the same key and body gets the first "
    "answer again, with `Idempotent-Replayed: true`; the same key with another body is a 422. Kept 24 hours.",
}
# The header's declaration, for an operation's `openapi_extra`; `Idempotent-Replayed` is added to its answers
# centrally (RingbackAPI).
IDEMPOTENT = {"parameters": [IDEMPOTENCY_KEY]}


# The statuses whose answer `idempotent` keeps and replays: what the operation itself answered or refused with.
# Refusals made before it runs (401, 413, 415, 422 for the schema) or that nothing decided (429, 503) are not kept.
REPLAYABLE = {200, 201, 202, 204, 400, 404, 409}
UNAVAILABLE = {
    "description": "The database did not answer (a restart, a fail-over): nothing was done; try again after "
    "`Retry-After` seconds (`code`: unavailable). A create also answers it for a full queue (`queue_full`).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


class RingbackAPI(NinjaAPI):
    # The `webhooks` section (OpenAPI 3.1) and the schemas it names, set by the package that adds the webhooks.
    webhooks: tuple[dict, dict] = ({}, {})

    def get_openapi_schema(self, *args, **kwargs):
        """The document, with what every operation shares declared once: the database-outage 503
        (`callbacks.middleware.DatabaseUnavailableMiddleware`), `Retry-After` on every 429 and 503,
        `Idempotent-Replayed` on every answer an operation taking `Idempotency-Key` may replay; and the events
        Ringback sends to webhooks."""
        schema = super().get_openapi_schema(*args, **kwargs)
        section, components = self.webhooks
        if section:
            schema["webhooks"] = section
            schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if not any(str(status) == "503" for status in responses):
                    responses[503] = dict(UNAVAILABLE)
                idempotent = any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
                for status, answer in responses.items():
                    if str(status) in ("429", "503"):
                        answer.setdefault("headers", {}).update(RETRY_AFTER)
                    if idempotent and int(status) in REPLAYABLE:
                        answer.setdefault("headers", {}).update(REPLAYED)
        return schema


api = RingbackAPI(
    title="Ringback intake API",
    version="1",
    description=__doc__,
    auth=TokenAuth(),
    urls_namespace="api",
)


# --- Schemas -------------------------------------------------------------------------------------------------


class SlotOut(Schema):
    start: datetime = Field(..., description="Slot start, in the requested zone")
    end: datetime
    remaining: int = Field(..., description="Callbacks that may still be promised in this slot")


class Error(Schema):
    detail: str = Field(..., description="What went wrong, for a person")
    code: str = Field(..., description="What went wrong, for a program: invalid, outside_hours, slot_full, duplicate …")
    field: str | None = None
    suggested_slots: list[SlotOut] | None = Field(None, description="Free slots nearest to a refused time")
    errors: list[dict[str, Any]] | None = Field(None, description="Schema validation details (422)")


# The request body: the one definition every front shares (`intake_schema`).
CallbackIn = intake_schema.CallbackIn


class CallbackOut(Schema):
    reference: str
    state: CallbackState
    type: CallbackType
    channel: Channel
    queue: str
    phone_number: str
    customer_name: str
    desired_time: datetime | None
    customer_timezone: str
    window_start: datetime | None
    window_end: datetime | None
    data: dict[str, Any]
    language: str = Field(..., description="The customer's e-mails' language (en, fr, es); empty: the centre's own")
    outcome: str = Field(..., description="Why it closed, once closed")
    origin: Origin = Field(..., description="Where it was asked for: web, mobile, ivr (Ringback's voice menu), api, agent")
    attempts: int = Field(..., description="Calls placed to the customer so far")
    max_attempts: int = Field(..., description="Calls it may take before it fails")
    last_disposition: str | None = Field(
        None, description="The code of the last disposition an agent set on it (admin → Disposition codes); null: none yet"
    )
    paused: bool = Field(..., description="A supervisor paused it: it keeps its place in line but is offered to nobody")
    created_at: datetime
    updated_at: datetime
    created: bool = Field(False, description="True when this request created it")


class CallbackPage(Schema):
    items: list[CallbackOut]
    count: int
    limit: int
    offset: int


class RescheduleIn(Schema):
    desired_time: datetime = Field(..., description="ISO 8601 with offset; must fall in a free slot")
    window_start: datetime | None = Field(
        None, description="A new availability window starts (ISO 8601 with offset); absent: the window stays as it was"
    )
    window_end: datetime | None = Field(None, description="… and ends; the new time must fall inside it")


class CancelIn(Schema):
    reason: str = Field("", max_length=200, description="Why, in the callback's history and outcome")


class UpdateIn(Schema):
    """A merge patch: only what is sent changes."""

    model_config = {"extra": "forbid"}
    customer_name: str | None = Field(None, max_length=200)
    data: dict[str, Any] | None = Field(
        None, description="Keys to set in the attached data; a key set to null is removed, keys not sent stay"
    )


class EventOut(Schema):
    id: int = Field(..., description="Increasing: a later event has a larger id")
    at: datetime
    kind: str = Field(..., description="What happened, for a program: created, offered, accepted, rescheduled …")
    label: str = Field(..., description="The kind, for a person")
    message: str
    state: CallbackState | None = Field(None, description="The callback's state after it, when it changed the state")


class EventPage(Schema):
    items: list[EventOut]
    count: int
    limit: int
    offset: int


class PositionOut(Schema):
    reference: str
    state: CallbackState
    position: int | None = Field(..., description="Place in line, 1 = next; null when not waiting in line")
    estimated_wait_seconds: int | None = Field(..., description="Until an agent is expected to call; null if unknown")
    agents: int = Field(..., description="Agents of the queue logged in on the channel")


class QueueOut(Schema):
    slug: str
    name: str
    gms_service: str | None
    open_now: bool
    next_open: datetime | None
    slot_minutes: int
    timezone: str


class AvailabilityOut(Schema):
    queue: str
    timezone: str
    slot_minutes: int
    slots: list[SlotOut]


# Only answers that can happen (tests/test_api_statuses.py produces each). Every operation: 401 (no or a wrong
# token), 429 (the client's budget, or an address's wrong tokens) and 503 (added to the document centrally).
# An unsafe operation with a JSON body: 400 (unparsable JSON, an Idempotency-Key over 200 characters, the action's
# own refusals), 409 (a first request with its Idempotency-Key still running, the state), 413, 415 and 422 (the
# schema, or the key reused on another request).
ALWAYS = {401: Error, 429: Error}
ERRORS = {**ALWAYS, 400: Error, 404: Error, 409: Error, 413: Error, 415: Error, 422: Error}
# A create names nothing in its path that could be missing (an unknown queue in the body is a 400).
CREATE_ERRORS = {k: v for k, v in ERRORS.items() if k != 404}
# A read of one thing by its name in the path: the name can be unknown; nothing else can be wrong.
READ_ERRORS = {**ALWAYS, 404: Error}
# … and with a query (paging) or a typed id in the path, which the schema checks (422).
CHECKED_ERRORS = {**READ_ERRORS, 422: Error}


COMPUTED = ("queue", "created", "last_disposition", "paused")


def out(callback: CallbackRequest, *, created: bool = False, disposition: str | None = None) -> dict:
    """The callback as the API shows it, as plain JSON data (also what an Idempotency-Key replays)."""
    fields = {name: getattr(callback, name) for name in CallbackOut.model_fields if name not in COMPUTED}
    return CallbackOut(
        **fields, queue=callback.queue.slug, created=created, last_disposition=disposition, paused=callback.paused_at is not None
    ).model_dump()


def last_dispositions(callback_ids: list[int]) -> dict[int, str]:
    """The code of the last disposition set on each callback (one statement for a whole page)."""
    rows = (
        Interaction.objects.filter(callback_id__in=callback_ids, disposition__isnull=False)
        .order_by("callback_id", "-created_at", "-id")
        .values_list("callback_id", "disposition__code")
    )
    found: dict[int, str] = {}
    for callback_id, code in rows:
        found.setdefault(callback_id, code)
    return found


def shown(callback: CallbackRequest) -> dict:
    """One callback as the API shows it, with its last disposition."""
    return out(callback, disposition=last_dispositions([callback.pk]).get(callback.pk))


def as_json(body: dict) -> dict:
    """The body exactly as the answer's JSON renders it (times to the millisecond), to be replayed the same."""
    return json.loads(json.dumps(body, cls=DjangoJSONEncoder))


# --- Refusals, all JSON ------------------------------------------------------------------------------------------


def refusal(request, status: int, detail: str, code: str, **extra):
    return api.create_response(request, {"detail": detail, "code": code, **extra}, status=status)


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    extra = {k: v for k, v in exc.extra.items() if k != "retry_after"}
    if exc.field:
        extra["field"] = exc.field
    response = refusal(request, exc.status, exc.message, exc.code, **extra)
    if "retry_after" in exc.extra:
        response["Retry-After"] = str(exc.extra["retry_after"])
    return response


@api.exception_handler(Throttled)
def throttled(request, exc: Throttled):
    response = refusal(request, 429, exc.message, exc.code)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    path = [str(p) for p in first.get("loc", []) if p not in ("body", "payload", "query", "path", "filters")]
    where = ".".join(path) or "body"
    errors = json.loads(json.dumps(exc.errors, default=str))
    return refusal(request, 422, f"{where}: {first.get('msg', 'invalid')}", "invalid", field=where, errors=errors)


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return refusal(request, 401, "Missing or invalid API token.", "unauthorized")


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return refusal(request, exc.status_code, str(exc), "invalid" if exc.status_code < 500 else "error")


@api.exception_handler(RequestDataTooBig)
def too_big(request, exc):
    return refusal(request, 413, "The request body is too large.", "too_large")


# --- Callbacks ----------------------------------------------------------------------------------------------------


def own_callback(request: HttpRequest, reference: str) -> CallbackRequest:
    """The client's callback by reference; another client's is as unknown as a made-up one."""
    callback = None
    if "\x00" not in reference and len(reference) <= 16:
        callback = CallbackRequest.objects.select_related("queue").filter(reference=reference, api_client=request.auth).first()
    if callback is None:
        raise DomainError(f"No callback {reference}.", status=404, code="not_found")
    return callback


def _create(request: HttpRequest, payload: CallbackIn) -> tuple[int, dict]:
    callback, created = do_create_callback(request=payload, api_client=request.auth)
    if not created and callback.api_client_id != request.auth.pk:
        # Someone else's open request for this number: refuse without saying whose, or what it is.
        raise DomainError(
            "This number already has an open callback in this queue.", status=409, code="duplicate", field="phone_number"
        )
    return (201 if created else 200), out(callback, created=created)


@api.post(
    "/callbacks",
    response={200: CallbackOut, 201: CallbackOut, **CREATE_ERRORS, 503: Error},
    summary="Create a callback",
    openapi_extra=IDEMPOTENT,
)
def create_callback(request: HttpRequest, payload: CallbackIn):
    """Create a callback request (201). The client's own open request for the same number and queue is returned
    instead (200); another client's is a 409 that names nothing of it. With an `Idempotency-Key` header, a retry
    with the same body gets the first answer again; the same key with another body is a 422."""
    return idempotent(request, lambda: _create(request, payload))


def idempotent(request: HttpRequest, run) -> Status:
    """Run an unsafe operation (`run()` gives its status and body) once per `Idempotency-Key`: a retry with the same
    key, path and body gets the first answer again, marked `Idempotent-Replayed: true`; the same key with another
    path or body is a 422; a first request still running is a 409. Without the header, it just runs."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return Status(*run())
    if len(key) > 200 or "\x00" in key:
        raise DomainError("Idempotency-Key must be at most 200 characters.", status=400, field="Idempotency-Key")
    # The path counts: the same key sent to cancel another callback is another request, never a replay.
    fingerprint = hashlib.sha256(request.path.encode() + b"\n" + request.body).hexdigest()
    now = timezone.now()
    IdempotencyRecord.objects.filter(api_client=request.auth, created_at__lt=now - IDEMPOTENCY_TTL).delete()
    try:
        record, fresh = IdempotencyRecord.objects.get_or_create(
            api_client=request.auth, key=key, defaults={"fingerprint": fingerprint, "created_at": now}
        )
    except IntegrityError:  # a concurrent first request with this key
        record, fresh = IdempotencyRecord.objects.get(api_client=request.auth, key=key), False
    if not fresh:
        if record.fingerprint != fingerprint:
            raise DomainError(
                "This Idempotency-Key was used with another request (path or body).", status=422, code="idempotency_mismatch"
            )
        if record.status:
            response = replayed(request, record.status, record.body)
            response["Idempotent-Replayed"] = "true"
            return response
        if record.created_at > now - IDEMPOTENCY_STALE:
            raise DomainError("A request with this Idempotency-Key is still running.", status=409, code="in_progress")
    try:
        status, body = run()
    except DomainError as error:
        if error.status in (429, 503):  # nothing was decided: a retry may succeed
            record.delete()
        else:
            body = {"detail": error.message, "code": error.code, **error.extra}
            if error.field:
                body["field"] = error.field
            IdempotencyRecord.objects.filter(pk=record.pk).update(status=error.status, body=as_json(body))
        raise
    IdempotencyRecord.objects.filter(pk=record.pk).update(status=status, body=as_json(body) if body is not None else {})
    return Status(status, body)


def replayed(request: HttpRequest, status: int, body: dict) -> HttpResponse:
    """A kept answer, as it was first given: JSON, or nothing at all for a 204."""
    if status == 204:
        return HttpResponse(status=204, content_type=api.get_content_type())
    return api.create_response(request, body, status=status)


class ListFilters(Schema):
    phone_number: str | None = Field(None, max_length=40, description="Exact number, E.164")
    state: CallbackState | None = None
    queue: str | None = Field(None, max_length=50, description="Queue slug")
    created_after: datetime | None = None
    created_before: datetime | None = None
    desired_after: datetime | None = None
    desired_before: datetime | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


@api.get(
    "/callbacks", response={200: CallbackPage, **ALWAYS, 400: Error, 422: Error}, summary="List and filter the client's callbacks"
)
def list_callbacks(request: HttpRequest, filters: Query[ListFilters]):
    """Newest first. Filters combine with AND; times are ISO 8601 with an offset."""
    rows = CallbackRequest.objects.select_related("queue").filter(api_client=request.auth)
    if filters.phone_number:
        rows = rows.filter(phone_number=filters.phone_number.replace(" ", "").replace("\x00", ""))
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.queue:
        rows = rows.filter(queue__slug=filters.queue.replace("\x00", ""))
    for name, lookup in (
        ("created_after", "created_at__gte"),
        ("created_before", "created_at__lt"),
        ("desired_after", "desired_time__gte"),
        ("desired_before", "desired_time__lt"),
    ):
        value = getattr(filters, name)
        if value is not None:
            rows = rows.filter(**{lookup: as_utc(value, name)})
    rows = rows.order_by("-created_at", "-id")
    page = list(rows[filters.offset : filters.offset + filters.limit])
    dispositions = last_dispositions([c.pk for c in page])
    items = [out(c, disposition=dispositions.get(c.pk)) for c in page]
    return {"items": items, "count": rows.count(), "limit": filters.limit, "offset": filters.offset}


@api.get("/callbacks/{reference}", response={200: CallbackOut, **READ_ERRORS}, summary="Get one callback")
def get_callback(request: HttpRequest, reference: str):
    return Status(200, shown(own_callback(request, reference)))


@api.post(
    "/callbacks/{reference}/cancel",
    response={200: CallbackOut, **ERRORS},
    summary="Cancel a waiting callback",
    openapi_extra=IDEMPOTENT,
)
def cancel_callback(request: HttpRequest, reference: str, payload: CancelIn | None = None):
    """Refused (409) once an agent works on it or it is closed. The body is optional: a `reason` is kept in its
    history and outcome. With an `Idempotency-Key`, a retry gets the first answer again (not a 409 because it is
    cancelled now)."""
    reason = (payload.reason if payload else "").replace("\x00", "").strip()
    said = f"Cancelled by {request.auth}" + (f": {reason}" if reason else "")
    return change(request, reference, lambda: do_cancel_callback(reference=reference, reason=said))


def change(request: HttpRequest, reference: str, act) -> Status:
    """An unsafe operation on one of the client's callbacks: `act()` changes it, once per Idempotency-Key; the
    answer is the callback as it is now."""

    def run():
        own_callback(request, reference)
        return 200, shown(act())

    return idempotent(request, run)


@api.post(
    "/callbacks/{reference}/reschedule",
    response={200: CallbackOut, **ERRORS},
    summary="Move a waiting callback to another time",
    openapi_extra=IDEMPOTENT,
)
def reschedule_callback(request: HttpRequest, reference: str, payload: RescheduleIn):
    """The new time must be in a free slot of the queue (the refusal lists the nearest ones) and inside the
    customer's availability window. Sending `window_start` or `window_end` sets a new window first (a bound not
    sent is open). Refused (409) once an agent works on it or it is closed."""
    given = payload.model_fields_set & {"window_start", "window_end"}
    window = (payload.window_start, payload.window_end) if given else None
    by = str(request.auth)
    return change(
        request, reference, lambda: do_move_callback(reference=reference, when=payload.desired_time, by=by, window=window)
    )


@api.patch(
    "/callbacks/{reference}",
    response={200: CallbackOut, **ERRORS},
    summary="Update a callback's attached data or the customer's name",
    openapi_extra=IDEMPOTENT,
)
def update_callback(request: HttpRequest, reference: str, payload: UpdateIn):
    """A merge patch (RFC 7396): keys sent in `data` are set, a key sent as null is removed, keys not sent stay;
    `customer_name`, when sent, replaces the name. Allowed while the callback is open, an agent's call included
    (their page shows it on its next refresh); refused (409) once it is closed."""
    if payload.customer_name is None and not payload.data:
        own_callback(request, reference)
        raise DomainError("Send customer_name or data.", status=400, code="invalid")
    name, by = payload.customer_name, str(request.auth)
    return change(
        request,
        reference,
        lambda: do_update_callback_data(reference=reference, changes=payload.data or {}, customer_name=name, by=by),
    )


# Integrators see a callback's trail but not the desk's own rows: notes, keys pressed in a call (a card number),
# switch commands, agents' status.
SHOWN_KINDS = tuple(
    kind for kind in HistoryKind if kind not in (HistoryKind.NOTE, HistoryKind.DTMF, HistoryKind.SWITCH, HistoryKind.STATUS)
)


class EventQuery(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


@api.get(
    "/callbacks/{reference}/events",
    response={200: EventPage, **CHECKED_ERRORS},
    summary="A callback's history, oldest first",
)
def callback_events(request: HttpRequest, reference: str, query: Query[EventQuery]):
    """What happened to it: received, offered, accepted, each call attempt, dispositions, moves, e-mails. Agents'
    notes, keys pressed during a call and switch commands are the desk's own and are not shown."""
    callback = own_callback(request, reference)
    rows = HistoryEvent.objects.filter(callback=callback, kind__in=SHOWN_KINDS).order_by("at", "id")
    page = rows.values("id", "at", "kind", "message", "data")[query.offset : query.offset + query.limit]
    labels = dict(HistoryKind.choices)
    items = [
        {
            "id": row["id"],
            "at": row["at"],
            "kind": row["kind"],
            "label": str(labels.get(row["kind"], row["kind"])),
            "message": row["message"],
            "state": row["data"].get("state") if isinstance(row["data"], dict) else None,
        }
        for row in page
    ]
    return {"items": items, "count": rows.count(), "limit": query.limit, "offset": query.offset}


@api.get(
    "/callbacks/{reference}/position",
    response={200: PositionOut, **READ_ERRORS},
    summary="Place in line and estimated wait",
)
def callback_position(request: HttpRequest, reference: str):
    callback = own_callback(request, reference)
    where = schedule.queue_position(callback, timezone.now())
    return {
        "reference": callback.reference,
        "state": where.state,
        "position": where.position,
        "estimated_wait_seconds": where.ewt_seconds,
        "agents": where.agents,
    }


# --- Queues and free slots ------------------------------------------------------------------------------------------


@api.get("/queues", response={200: list[QueueOut], **ALWAYS}, summary="Active queues, their hours and slots")
def list_queues(request: HttpRequest):
    now = timezone.now()
    rows = []
    for queue in Queue.objects.filter(active=True).select_related("calendar").order_by("name"):
        spec = calendars.spec_for(queue)
        rows.append(
            {
                "slug": queue.slug,
                "name": queue.name,
                "gms_service": queue.gms_service,
                "open_now": calendars.is_open(spec, now),
                "next_open": calendars.next_open(spec, now),
                "slot_minutes": spec.slot_minutes,
                "timezone": queue.calendar.timezone if queue.calendar else "UTC",
            }
        )
    return rows


class AvailabilityQuery(Schema):
    start: datetime | None = Field(None, description="From (default: now)")
    end: datetime | None = Field(None, description="Until (default: start + 7 days; at most 31 days after start)")
    timezone: str = Field("UTC", max_length=64, description="IANA zone the slots are written in")
    limit: int = Field(200, ge=1, le=1000, description="At most this many slots")


def queue_by_slug(slug: str) -> Queue:
    queue = None
    if "\x00" not in slug and len(slug) <= 50:
        queue = Queue.objects.filter(slug=slug, active=True).first()
    if queue is None:
        raise DomainError(f"There is no active queue “{slug}”.", status=404, code="not_found")
    return queue


def as_utc(value: datetime, name: str) -> datetime:
    """A time from a query, in UTC (PostgreSQL holds offsets up to ±15:59 only; Python allows ±23:59)."""
    if timezone.is_naive(value):
        raise DomainError(f"{name} needs a time zone offset.", status=400, field=name)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise DomainError(f"{name} is out of range.", status=400, field=name) from None


def availability_window(start: datetime | None, end: datetime | None, now: datetime, max_days: int = 31):
    start = as_utc(start, "start") if start is not None else None
    end = as_utc(end, "end") if end is not None else None
    start = max(start or now, now)
    end = end or start + timedelta(days=7)
    if end <= start:
        raise DomainError("end must be after start (and after now).", status=400, field="end")
    if end - start > timedelta(days=max_days):
        raise DomainError(f"Ask for at most {max_days} days at a time.", status=400, field="end")
    return start, end


@api.get(
    "/queues/{slug}/availability",
    response={200: AvailabilityOut, **CHECKED_ERRORS, 400: Error},
    summary="Free slots with their remaining capacity",
)
def availability(request: HttpRequest, slug: str, query: Query[AvailabilityQuery]):
    """Free slots of the queue between two instants (full ones left out), written in the requested zone."""
    queue = queue_by_slug(slug)
    zone = ZoneInfo(validate_timezone(query.timezone, field="timezone"))
    start, end = availability_window(query.start, query.end, timezone.now())
    slots = calendars.free_slots(queue, start, end, limit=query.limit)
    return {
        "queue": queue.slug,
        "timezone": str(zone),
        "slot_minutes": calendars.spec_for(queue).slot_minutes,
        "slots": [{"start": s.start.astimezone(zone), "end": s.end.astimezone(zone), "remaining": s.remaining} for s in slots],
    }
