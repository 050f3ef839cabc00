"""GMS compatibility: the Genesys Mobile Services Callback v1 API on Ringback's own operations, so an existing GMS
client switches by changing its base URL (field-by-field mapping: docs/gms.md).

A GMS "service" is a queue's `gms_service` name. Bodies are JSON or form-encoded; records are flat JSON objects
whose values are all strings; errors are `{"exception": …, "message": …}`. Authentication is optional: HTTP Basic
with an API client's name and token scopes requests to that client; without it, requests act as the built-in
"GMS" client (`RINGBACK_GMS_REQUIRE_AUTH=true` makes Basic mandatory). The admin endpoints need an Admin-role staff user's
Basic credentials and see every client's callbacks.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime, timedelta
from functools import wraps

from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import Count, Q
from django.http import HttpRequest, JsonResponse, QueryDict
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import calendars, intake_schema, lifecycle, throttle
from .enums import CallbackState, CallbackType, Channel, CloseReason, Origin
from .errors import DomainError
from .gms_options import GmsOptions, options_of
from .models import ApiClient, CallbackRequest, Queue
from .presenters import schedule
from .routing import free_agents
from .throttle import hit

EXC = "com.genesyslab.gsg.services.callback.exceptions."
GMS_STATE = {
    CallbackState.SCHEDULED: "SCHEDULED",
    CallbackState.QUEUED: "QUEUED",
    CallbackState.OFFERED: "ROUTING",
    CallbackState.IN_PROGRESS: "PROCESSING",
    CallbackState.COMPLETED: "COMPLETED",
    CallbackState.CANCELLED: "COMPLETED",
    CallbackState.FAILED: "COMPLETED",
}
WAITING = (CallbackState.SCHEDULED, CallbackState.QUEUED)  # what a supervisor may pause
STATES_OF: dict[str, list[str]] = {}
for _internal, _gms in GMS_STATE.items():
    STATES_OF.setdefault(_gms, []).append(_internal)
GMS_REASON = {
    CloseReason.DONE: "COMPLETED",
    CloseReason.TRANSFERRED: "TRANSFERRED",
    CloseReason.CANCELLED: "CANCELLED",
    CloseReason.CANCELLED_BY_ADMIN: "CANCELLED_BY_ADMIN",
    CloseReason.EXPIRED: "EXPIRED",
    CloseReason.FAILED: "FAILED",
}
# The request's fields GMS names or decides itself (`start`); every other field of the request (`intake_schema`) is
# the property `_<field>`: `_email`, `_language`, `_priority`, `_window_end` …, and any field added to the request.
GMS_OWN = frozenset(
    {"queue", "phone_number", "type", "channel", "origin", "customer_name", "desired_time", "customer_timezone", "data"}
)
# Property names a query may filter on besides the mapped underscore keys: attached-data keys.
KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
QUERY_LIMIT = 100


class GmsError(Exception):
    def __init__(self, status: int, exception: str, message: str, **extra) -> None:
        super().__init__(message)
        self.status, self.exception, self.message, self.extra = status, exception, message, extra


def gms_time(value: datetime | None) -> str:
    """`yyyy-MM-ddTHH:mm:ss.SSSZ` in UTC, as GMS writes times."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_gms_time(raw: str, field: str) -> datetime:
    text = (raw or "").strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise GmsError(400, EXC + "CallbackExceptionInvalid", f"{field} must look like 2026-05-28T15:30:00.000Z.") from None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)  # GMS times are UTC
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise GmsError(400, EXC + "CallbackExceptionInvalid", f"{field} is out of range.") from None


def gms_state(callback: CallbackRequest) -> str:
    """GMS's state: a waiting callback a supervisor paused is PAUSED."""
    if callback.paused_at is not None and callback.state in WAITING:
        return "PAUSED"
    return GMS_STATE[callback.state]


def in_gms_state(name: str) -> Q:
    """The callbacks GMS would show in state `name` (PAUSED included: waiting, and paused)."""
    if name == "PAUSED":
        return Q(paused_at__isnull=False, state__in=WAITING)
    states = STATES_OF.get(name, [])
    if name in ("SCHEDULED", "QUEUED", "ROUTING"):
        return Q(state__in=states, paused_at__isnull=True)
    return Q(state__in=states)


def record_of(callback: CallbackRequest, request: HttpRequest) -> dict[str, str]:
    """A callback as GMS shows it: every value a string."""
    service = callback.queue.gms_service or callback.queue.slug
    record = {
        "_id": callback.reference,
        "_service_name": service,
        "_callback_state": gms_state(callback),
        "_customer_number": callback.phone_number,
        "_desired_time": gms_time(callback.desired_time),
        "_expiration_time": gms_time(callback.window_end),
        "_url": request.build_absolute_uri(f"/genesys/1/service/callback/{service}?_id={callback.reference}"),
    }
    if callback.close_reason:
        record["_callback_reason"] = GMS_REASON[callback.close_reason]
    for key, value in callback.data.items():
        if not key.startswith("_"):
            # A request's field kept as attached data (no column of its own) is given back as GMS named it.
            name = f"_{key}" if key in intake_schema.FIELDS and key not in intake_schema.IN_COLUMNS else key
            record[name] = value if isinstance(value, str) else json.dumps(value)
    return record


def answer(body, status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, safe=False)


def refusal(error: GmsError) -> JsonResponse:
    return answer({"exception": error.exception, "message": error.message, **error.extra}, error.status)


# --- Who is asking -----------------------------------------------------------------------------------------------


def _basic(request: HttpRequest) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise GmsError(401, "", "Unauthorized") from None
    return user, password


def client_of(request: HttpRequest) -> ApiClient:
    credentials = _basic(request)
    if credentials is None:
        if settings.RINGBACK_GMS_REQUIRE_AUTH:
            raise GmsError(401, "", "Unauthorized")
        client, _ = ApiClient.objects.get_or_create(name="GMS", defaults={"token_hash": "", "token_prefix": ""})
    else:
        address = request.META.get("REMOTE_ADDR", "")
        if throttle.bad_token_wait(address) is not None:
            raise GmsError(503, EXC + "CallbackExceptionServiceUnavailable", "Too many wrong tokens from this address.")
        client = ApiClient.for_token(credentials[1])
        if client is None:
            throttle.bad_token(address)
            raise GmsError(401, "", "Unauthorized")
    if not client.active:
        raise GmsError(401, "", "Unauthorized")
    return client


def gms_view(*methods: str, admin: bool = False):
    """A GMS endpoint: its methods, who may call it, and GMS's error shape for every refusal."""

    def decorate(fn):
        @csrf_exempt
        @wraps(fn)
        def view(request: HttpRequest, *args, **kwargs):
            if request.method not in methods:
                return method_refused(request, methods)
            try:
                check_contact_center(request)
                if admin:
                    credentials = _basic(request)
                    user = authenticate(request, username=credentials[0], password=credentials[1]) if credentials else None
                    if user is None or not user.is_staff or not user.has_perm("callbacks.all_queues"):
                        raise GmsError(401, "", "Unauthorized")  # the Admin role (every queue) with staff status
                    request.user = user
                    return fn(request, None, *args, **kwargs)
                client = client_of(request)
                wait = hit("client", str(client.pk), limit=client.requests_per_minute, window=60)
                if wait is not None:
                    # GMS has no budget per client: the refusal is shaped as GMS's own throttles (503, its class, its
                    # sentence with the client for the service), so a GMS client handles it as it does those; the
                    # Retry-After (HTTP's, for a 503) is Ringback's addition.
                    raise GmsError(
                        503,
                        EXC + "CallbackExceptionServiceUnavailable",
                        f"Limit of requests for {client} is reached for interval 60s.",
                        retry_after=wait,
                    )
                return fn(request, client, *args, **kwargs)
            except GmsError as error:
                retry_after = error.extra.pop("retry_after", None)
                response = refusal(error)
                if error.status == 401:
                    response["WWW-Authenticate"] = 'Basic realm="GMS"'
                if retry_after is not None:
                    response["Retry-After"] = str(retry_after)
                return response
            except DomainError as error:
                return refusal(translate(error, kwargs.get("service", "")))

        return view

    return decorate


def check_contact_center(request: HttpRequest) -> None:
    """GMS's shared (multi-tenant) mode names the tenant in a `ContactCenterId` header. Where Ringback is given the
    ids it answers to (`RINGBACK_GMS_CONTACT_CENTER_IDS`), another one is refused with GMS's message; without that
    list (one contact centre) the header is ignored, as GMS ignores it outside shared mode."""
    wanted = settings.RINGBACK_GMS_CONTACT_CENTER_IDS
    given = request.headers.get("ContactCenterId")
    if wanted and given is not None and given not in wanted:
        raise GmsError(
            400,
            EXC + "CallbackExceptionInvalid",
            f"Callback Contact Center ID: {given[:64]} is not configured in transaction list.",
        )


# GMS is a Spring application: a path it does not serve, or a method a path does not take, answers in its JSON
# error shape with Spring's own exception and wording, never an HTML page or an empty body.
SPRING = "org.springframework.web."


def method_refused(request: HttpRequest, methods: tuple[str, ...]) -> JsonResponse:
    exception = SPRING + "HttpRequestMethodNotSupportedException"
    response = refusal(GmsError(405, exception, f"Request method '{request.method}' not supported"))
    response["Allow"] = ", ".join(methods)
    return response


@csrf_exempt
def unknown_path(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under /genesys/: 404 in GMS's error shape."""
    exception = SPRING + "servlet.NoHandlerFoundException"
    return refusal(GmsError(404, exception, f"No handler found for {request.method} {request.path[:200]}"))


def translate(error: DomainError, service: str, number: str = "", limit: int = 0) -> GmsError:
    """Ringback's refusals in GMS's words (the messages GMS's own tests assert, where they are known); a start
    passes the number and the queue's daily limit for GMS's own texts."""
    if error.code == "queue_full":
        return GmsError(503, EXC + "CallbackExceptionServiceUnavailable", f"Limit of queued callbacks for {service} is reached.")
    if error.code == "number_limit":
        message = (
            f"Callback for _customer_number={number} rejected because previous callbacks for this parameter "
            f"were requested for more than {limit} times today."
            if number
            else error.message
        )
        return GmsError(503, EXC + "CallbackExceptionServiceUnavailable", message)
    if error.field == "phone_number" and error.code == "invalid" and number:
        return GmsError(
            400,
            EXC + "CallbackExceptionNumber",
            f"Customer Number [{number}] is disallowed, because it is invalid. Check option _disallow_impossible_phone_numbers",
        )
    if error.code in ("outside_hours", "slot_full", "window_closed", "window"):
        suggested = {gms_time(datetime.fromisoformat(s["start"])): s["remaining"] for s in error.extra.get("suggested_slots", [])}
        return GmsError(400, EXC + "CallbackExceptionAvailability", error.message, availability=suggested)
    if error.field == "phone_number":
        return GmsError(400, EXC + "CallbackExceptionNumber", error.message)
    if error.status == 404:
        return GmsError(404, EXC + "CallbackExceptionNotFound", error.message)
    return GmsError(400, EXC + "CallbackExceptionInvalid", error.message)


# --- Bodies ----------------------------------------------------------------------------------------------------------


def body_of(request: HttpRequest) -> dict[str, str]:
    """JSON or form-encoded, flat: every value as a string (GMS properties are strings)."""
    if not request.body:
        return {}
    if request.content_type == "application/x-www-form-urlencoded":
        try:
            form = QueryDict(request.body.decode("utf-8"))
        except UnicodeDecodeError:
            raise GmsError(400, EXC + "CallbackExceptionInvalid", "The form body is not UTF-8.") from None
        return {k: form.get(k, "") for k in form}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise GmsError(400, EXC + "CallbackExceptionInvalid", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise GmsError(400, EXC + "CallbackExceptionInvalid", "The body must be a JSON object of properties.")
    out = {}
    for key, value in data.items():
        if isinstance(value, dict | list):
            raise GmsError(400, EXC + "CallbackExceptionInvalid", f"Property {key} must be a string.")
        out[str(key)] = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _clean(text: str, field: str, limit: int = 2000) -> str:
    if "\x00" in text:
        raise GmsError(400, EXC + "CallbackExceptionInvalid", f"{field} contains a NUL character.")
    return text[:limit]


def queue_of(service: str) -> Queue:
    queue = Queue.objects.filter(gms_service=service, active=True).first() if "\x00" not in service else None
    if queue is None:
        raise GmsError(404, EXC + "CallbackExceptionResource", f"Service {service} is not configured.")
    return queue


# --- Endpoints -----------------------------------------------------------------------------------------------------------


@gms_view("GET")
def query_by_id(request: HttpRequest, client: ApiClient):
    """GET /genesys/1/service/callback?_id=… (an array of 0 or 1), or by properties across services."""
    if "_id" in request.GET and len(request.GET) == 1:
        found = CallbackRequest.objects.select_related("queue").filter(reference=request.GET["_id"][:16], api_client=client)
        return answer([record_of(c, request) for c in found[:1]])
    return answer(search(request, client, None))


@gms_view("GET", "POST")
def service(request: HttpRequest, client: ApiClient, service: str):
    """POST starts a callback; GET queries the service's callbacks by properties."""
    queue = queue_of(service)
    if request.method == "GET":
        return answer(search(request, client, queue))
    return start(request, client, queue)


def start(request: HttpRequest, client: ApiClient, queue: Queue):
    body = body_of(request)
    options = options_of(queue.gms_options)
    number = body.get("_customer_number", "").strip()
    if not number:
        raise GmsError(400, EXC + "CallbackExceptionMandatoryParameter", "Mandatory parameter _customer_number is missing.")
    throttle_service(queue, options)
    dial_in = user_originated(body, queue)
    desired = parse_gms_time(body["_desired_time"], "_desired_time") if body.get("_desired_time") else None
    data = {k: _clean(v, k, 500) for k, v in body.items() if not k.startswith("_")}
    fields = {f: _clean(body[f"_{f}"], f"_{f}") or None for f in intake_schema.FIELDS if f not in GMS_OWN and f"_{f}" in body}
    if dial_in:
        fields["window_end"] = timezone.now() + DIAL_IN_WAIT  # the customer calls within it, or it expires
    try:
        callback, created = lifecycle.do_create_callback(
            request=lifecycle.callback_request(
                **fields,
                queue=queue.slug,
                phone_number=_clean(number, "_customer_number", 40),
                type=CallbackType.SCHEDULED if desired else CallbackType.IMMEDIATE,
                origin=Origin.MOBILE if body.get("_media_type") else Origin.API,
                customer_name=_clean(body.get("_customer_name", body.get("_first_name", "")), "_customer_name", 200),
                desired_time=desired,
                customer_timezone="",  # derived from the number
                data=data,
            ),
            api_client=client,
            number_as_keyed=not options.disallow_impossible_phone_numbers and not dial_in,
            customer_dials_in=dial_in is not None,
        )
    except DomainError as error:
        raise translate(error, queue.gms_service, number[:40], queue.daily_requests_per_number) from None
    if not created and callback.api_client_id != client.pk:
        raise GmsError(400, EXC + "CallbackExceptionDuplicate", "A callback for this number is already open for this service.")
    if dial_in is not None and callback.customer_dials_in:
        return answer({"_id": callback.reference, "_action": "DialNumber", "_tel_url": f"tel:{dial_in}"})
    text = (
        f"We will call you at {gms_time(callback.desired_time)}"
        if callback.state == CallbackState.SCHEDULED
        else "You will receive the call shortly"
    )
    return answer(
        {"_id": callback.reference, "_action": "ConfirmationDialog", "_text": text, "_ok_title": "Ok", "_dialog_id": "0"}
    )


# How long a customer told to call in (DialNumber) has to do it, after which the callback expires.
DIAL_IN_WAIT = timedelta(minutes=15)


def user_originated(body: dict[str, str], queue: Queue) -> str | None:
    """`_call_direction=USERORIGINATED`: the number the customer is to call (the queue's voice entry number), or None
    when Ringback is to call them: USERTERMINATED (the default), a scheduled start, or `_wait_for_agent=true` while
    no agent of the queue is free (then Ringback calls them when one is)."""
    direction = body.get("_call_direction", "USERTERMINATED").upper()
    if direction not in ("USERTERMINATED", "USERORIGINATED"):
        raise GmsError(400, EXC + "CallbackExceptionInvalid", "_call_direction must be USERTERMINATED or USERORIGINATED.")
    if direction == "USERTERMINATED" or body.get("_desired_time"):
        return None
    entry = queue.entry_numbers.filter(active=True).order_by("pk").first()
    if entry is None:
        raise GmsError(
            400,
            EXC + "CallbackExceptionInvalid",
            f"Service {queue.gms_service} takes no USERORIGINATED callbacks: its queue has no voice entry number.",
        )
    if body.get("_wait_for_agent", "").lower() == "true" and not free_agents(queue.pk, Channel.VOICE, lock=False).exists():
        return None
    return entry.number


def throttle_service(queue: Queue, options: GmsOptions) -> None:
    """GMS's per-service rate throttles (`_throttle_callbacks_per_service_N` within `_throttle_ttl_N` seconds)."""
    for limit, ttl in options.throttles():
        if hit("gms-service", f"{queue.pk}:{ttl}", limit=limit, window=ttl) is not None:
            raise GmsError(
                503,
                EXC + "CallbackExceptionServiceUnavailable",
                f"Limit of queued callbacks for {queue.gms_service} is reached for interval {ttl}s.",
            )


def search(request: HttpRequest, client: ApiClient | None, queue: Queue | None) -> list[dict]:
    """Query by properties: `key=value` pairs joined by `operand` (AND, the default, or OR); a `!` prefix negates."""
    operand = request.GET.get("operand", "AND").upper()
    if operand not in ("AND", "OR"):
        raise GmsError(400, EXC + "CallbackExceptionInvalid", "operand must be AND or OR.")
    conditions = []
    for key, value in request.GET.items():
        if key == "operand":
            continue
        negate = value.startswith("!")
        value = _clean(value[1:] if negate else value, key, 200)
        if key == "_id":
            condition = Q(reference=value)
        elif key == "_customer_number":
            condition = Q(phone_number=value.replace(" ", ""))
        elif key == "_callback_state":
            condition = in_gms_state(value.upper())
        elif key == "_service_name":
            condition = Q(queue__gms_service=value)
        elif key.startswith("_"):
            continue  # other GMS options (_ts, _request_queue_time_stat …) do not filter
        elif KEY.match(key) and "__" not in key:
            condition = Q(**{f"data__{key}": value})
        else:
            raise GmsError(400, EXC + "CallbackExceptionInvalid", f"Cannot query by {key[:64]}.")
        conditions.append(~condition if negate else condition)
    rows = CallbackRequest.objects.select_related("queue")
    if client is not None:
        rows = rows.filter(api_client=client)
    if queue is not None:
        rows = rows.filter(queue=queue)
    if conditions:
        combined = conditions[0]
        for condition in conditions[1:]:
            combined = combined | condition if operand == "OR" else combined & condition
        rows = rows.filter(combined)
    return [record_of(c, request) for c in rows.order_by("-created_at")[:QUERY_LIMIT]]


@gms_view("PUT", "DELETE")
def one(request: HttpRequest, client: ApiClient, service: str, reference: str):
    """PUT reschedules (`_new_desired_time`) and updates properties ("" removes one); DELETE cancels."""
    queue = queue_of(service)
    callback = CallbackRequest.objects.filter(reference=reference[:16], queue=queue, api_client=client).first()
    if callback is None:
        raise GmsError(404, EXC + "CallbackExceptionNotFound", f"Callback {reference[:16]} is not found.")
    if request.method == "DELETE":
        lifecycle.do_cancel_callback(reference=callback.reference, reason=f"Cancelled by {client} (GMS)")
        return answer({})
    body = body_of(request)
    changes = {k: _clean(v, k, 500) for k, v in body.items() if not k.startswith("_")}
    if changes:
        lifecycle.do_update_callback_data(reference=callback.reference, changes=changes, by=f"{client} (GMS)")
    if body.get("_new_desired_time"):
        when = parse_gms_time(body["_new_desired_time"], "_new_desired_time")
        lifecycle.do_move_callback(reference=callback.reference, when=when, by=f"{client} (GMS)")
    return answer({"_id": callback.reference})


def _int(request: HttpRequest, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise GmsError(400, EXC + "CallbackExceptionInvalid", f"{name} must be a whole number from {low} to {high}.")
    return int(raw)


@gms_view("GET")
def availability(request: HttpRequest, client: ApiClient, service: str):
    """{slot start: remaining capacity}, full slots included (at 0), in UTC."""
    queue = queue_of(service)
    now = timezone.now()
    start = parse_gms_time(request.GET["start"], "start") if request.GET.get("start") else now
    days = _int(request, "number-of-days", None, 1, 31)
    if request.GET.get("end"):
        end = parse_gms_time(request.GET["end"], "end")
    else:
        end = start + timedelta(days=days or 1)
    start = max(start, now)
    if end <= start or end - start > timedelta(days=31):
        raise GmsError(400, EXC + "CallbackExceptionInvalid", "end must be after start, and at most 31 days later.")
    limit = _int(request, "max-time-slots", 500, 1, 1000)
    return answer({gms_time(s.start): s.remaining for s in calendars.slots(queue, start, end, limit=limit)})


@gms_view("GET")
def queue_position(request: HttpRequest, client: ApiClient, reference: str):
    callback = CallbackRequest.objects.select_related("queue").filter(reference=reference[:16], api_client=client).first()
    if callback is None:
        raise GmsError(404, EXC + "CallbackExceptionNotFound", f"Callback {reference[:16]} is not found.")
    where = schedule.queue_position(callback, timezone.now())
    return answer(
        {
            "_id": callback.reference,
            "_callback_state": gms_state(callback),
            "position": "" if where.position is None else str(where.position),
            "ewt": "" if where.ewt_seconds is None else str(where.ewt_seconds),
        }
    )


# --- Admin ------------------------------------------------------------------------------------------------------------------


@gms_view("GET", admin=True)
def admin_queues(request: HttpRequest, _client: None):
    """Callbacks per service by desired time: 15 minutes back to 24 hours ahead unless start_time/end_time say."""
    now = timezone.now()
    start = (
        parse_gms_time(request.GET["start_time"], "start_time") if request.GET.get("start_time") else now - timedelta(minutes=15)
    )
    end = parse_gms_time(request.GET["end_time"], "end_time") if request.GET.get("end_time") else now + timedelta(hours=24)
    limit = _int(request, "max", 500, 1, 5000)
    rows = CallbackRequest.objects.select_related("queue").filter(
        queue__gms_service__isnull=False, desired_time__gte=start, desired_time__lt=end
    )
    if request.GET.get("target"):
        rows = rows.filter(queue__gms_service=request.GET["target"][:64])
    if request.GET.get("states"):
        wanted = Q(pk__in=[])
        for name in request.GET["states"].upper().split(",")[:10]:
            wanted |= in_gms_state(name.strip())
        rows = rows.filter(wanted)
    raw = request.GET.get("filter-keys")
    keys = list(DEFAULT_FILTER_KEYS) if raw is None else filter_keys(raw)
    return answer(per_service(rows.order_by("desired_time")[:limit], request, keys))


def per_service(
    rows, request: HttpRequest, keys: list[str] | None, always: tuple[str, ...] | None = None
) -> dict[str, list[dict[str, str]]]:
    """The admin endpoints' answer: `{"<service>": [record, …]}`, each record showing `always` and `keys` (None:
    every key)."""
    out: dict[str, list] = {}
    for callback in rows:
        out.setdefault(callback.queue.gms_service, []).append(projected(record_of(callback, request), keys, always or ALWAYS))
    return out


# What every projected record keeps, whatever `filter-keys` or `exported_properties` name: the keys GMS always
# returns (GMS.md §3, "Callback record"), the customer lookup key `_customer_number` among them.
ALWAYS = (
    "_id",
    "_desired_time",
    "_service_name",
    "_callback_state",
    "_expiration_time",
    "_customer_number",
    "_url",
    "_callback_reason",
)
# GMS's default `filter-keys` (GMS.md §3, [D]): what admin/callback/queues shows beside `ALWAYS` when the request
# names none. Ringback keeps no ORS statistics, so the last three never appear: the default shows no attached data.
DEFAULT_FILTER_KEYS = ("_callback_state", "_callback_reason", "_request_queue_time_stat", "_request_ewt_service", "_vq")
# reportcancelled's records (the contract names its request only; the answer is Ringback's): who and when, and the
# `exported_properties` named.
REPORTED_ALWAYS = ("_id", "_service_name", "_callback_state", "_desired_time")


def filter_keys(raw: str | None) -> list[str] | None:
    """`filter-keys=_callback_state,CB_X` (or `exported_properties`): the keys each record shows (beside `ALWAYS`);
    None when absent (the caller chooses: GMS's default for the queues, every key for reportcancelled)."""
    if raw is None:
        return None
    keys = [key.strip() for key in raw.split(",") if key.strip()][:50]
    if any(len(key) > 64 or "\x00" in key for key in keys):
        raise GmsError(400, EXC + "CallbackExceptionInvalid", "filter-keys are names of at most 64 characters.")
    return keys


def projected(record: dict[str, str], keys: list[str] | None, always: tuple[str, ...] = ALWAYS) -> dict[str, str]:
    if keys is None:
        return record
    return {key: value for key, value in record.items() if key in always or key in keys}


@gms_view("GET", admin=True)
def admin_watermarks(request: HttpRequest, _client: None):
    """How many callbacks wait in each service now (queued, as `_max_queued_callbacks_per_service` counts them):
    {"services": {"<service>": n}, "total": n}, for the `service_name`s asked (repeatable), or every service."""
    names = [name[:64] for name in request.GET.getlist("service_name") if name][:100]
    services = Queue.objects.filter(gms_service__isnull=False).exclude(gms_service="")
    if names:
        services = services.filter(gms_service__in=names)
    waiting = Count("callbacks", filter=Q(callbacks__state=CallbackState.QUEUED, callbacks__paused_at__isnull=True))
    counts = {name: n for name, n in services.annotate(n=waiting).values_list("gms_service", "n")}
    for name in names:
        if name not in counts:
            raise GmsError(404, EXC + "CallbackExceptionResource", f"Service {name} is not configured.")
    return answer({"services": counts, "total": sum(counts.values())})


@gms_view("POST", admin=True)
def admin_cancel(request: HttpRequest, _client: None):
    """{"reason": "CANCELLED_BY_ADMIN", "ids": [...]} → which were cancelled and why the others were not."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise GmsError(400, EXC + "CallbackExceptionInvalid", "The body is not valid JSON.") from None
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > 1000:
        raise GmsError(400, EXC + "CallbackExceptionInvalid", "ids must be a list of callback ids (at most 1000).")
    cancelled, failed = [], {}
    for reference in ids:
        try:
            lifecycle.do_cancel_callback(
                reference=reference[:16], actor=request.user, reason="Cancelled by an administrator (GMS)", by_admin=True
            )
            cancelled.append(reference)
        except DomainError as error:
            failed[reference] = error.message
    return answer({"cancelled": cancelled, "failed": failed})


@gms_view("POST", admin=True)
def admin_report_cancelled(request: HttpRequest, _client: None):
    """The callbacks cancelled in a period, per service: `{"callback_reason": "CANCELLED_BY_ADMIN",
    "exported_properties": ["_customer_number", "order"], "start_time": …, "end_time": …}`, every key optional
    (the last 24 hours; both reasons; every property). Each record shows `_callback_reason` and the properties
    named."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise GmsError(400, EXC + "CallbackExceptionInvalid", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise GmsError(400, EXC + "CallbackExceptionInvalid", "The body must be a JSON object.")
    reasons = {"CANCELLED": CloseReason.CANCELLED, "CANCELLED_BY_ADMIN": CloseReason.CANCELLED_BY_ADMIN}
    reason = body.get("callback_reason")
    if reason is not None and reason not in reasons:
        raise GmsError(400, EXC + "CallbackExceptionInvalid", "callback_reason must be CANCELLED or CANCELLED_BY_ADMIN.")
    exported = body.get("exported_properties")
    if exported is not None and (not isinstance(exported, list) or not all(isinstance(k, str) for k in exported)):
        raise GmsError(400, EXC + "CallbackExceptionInvalid", "exported_properties must be a list of property names.")
    now = timezone.now()
    start = parse_gms_time(str(body["start_time"]), "start_time") if body.get("start_time") else now - timedelta(hours=24)
    end = parse_gms_time(str(body["end_time"]), "end_time") if body.get("end_time") else now
    wanted = [reasons[reason]] if reason else list(reasons.values())
    rows = CallbackRequest.objects.select_related("queue").filter(
        queue__gms_service__isnull=False, close_reason__in=wanted, closed_at__gte=start, closed_at__lt=end
    )
    keys = None if exported is None else filter_keys(",".join(["_callback_reason", *exported]))
    return answer(per_service(rows.order_by("closed_at")[: QUERY_LIMIT * 50], request, keys, REPORTED_ALWAYS))
