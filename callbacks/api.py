"""Intake over HTTP: integrations create and look up callbacks with a bearer token.

Clients and their tokens are managed in Django admin. The full intake API
(listing, cancel, reschedule, webhooks) builds on this module.
"""

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer

from .enums import CallbackType, Channel, Origin
from .errors import DomainError
from .lifecycle import CallbackInput, do_cancel_callback, do_create_callback
from .models import ApiClient, CallbackRequest


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiClient | None:
        client = ApiClient.for_token(token)
        now = timezone.now()
        # "Last used" to the minute: not a write on every request of a busy integration.
        if client is not None and (client.last_used_at is None or now - client.last_used_at > timedelta(minutes=1)):
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        return client


api = NinjaAPI(title="Ringback intake API", version="1", auth=TokenAuth(), urls_namespace="api")


class SlotOut(Schema):
    start: datetime
    end: datetime
    remaining: int


class Error(Schema):
    detail: str = Field(..., description="What went wrong, for a person")
    code: str = Field("invalid", description="What went wrong, for a program (e.g. outside_hours, slot_full)")
    field: str | None = None
    suggested_slots: list[SlotOut] | None = Field(None, description="Free slots nearest to the refused time")


class CallbackIn(Schema):
    queue: str = Field(..., description="Queue slug", max_length=50)
    phone_number: str = Field(..., description="Customer number; E.164 preferred", max_length=40)
    type: CallbackType = CallbackType.IMMEDIATE
    channel: Channel = Channel.VOICE
    origin: Origin = Origin.API
    customer_name: str = Field("", max_length=200)
    desired_time: datetime | None = Field(None, description="ISO 8601 with offset")
    customer_timezone: str = Field("UTC", description="IANA zone, e.g. Europe/Paris", max_length=64)
    window_start: datetime | None = None
    window_end: datetime | None = None
    instructions: str = Field("", max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, description="Attached key/value data")
    priority: int = Field(5, ge=1, le=10)
    max_attempts: int | None = Field(None, ge=1, le=20)


class CallbackOut(Schema):
    reference: str
    state: str
    type: str
    channel: str
    queue: str
    phone_number: str
    desired_time: datetime | None
    customer_timezone: str
    created: bool = True

    @staticmethod
    def resolve_queue(obj: CallbackRequest) -> str:
        return obj.queue.slug


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    body = {"detail": exc.message, "code": exc.code, **exc.extra}
    if exc.field:
        body["field"] = exc.field
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    path = [str(p) for p in first.get("loc", []) if p not in ("body", "payload", "query", "path")]
    where = ".".join(path) or "body"
    return api.create_response(
        request, {"detail": f"{where}: {first.get('msg', 'invalid')}", "field": where, "errors": exc.errors}, status=422
    )


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return api.create_response(request, {"detail": "Missing or invalid API token."}, status=401)


@api.post("/callbacks", response={200: CallbackOut, 201: CallbackOut, 400: Error, 401: Error, 422: Error})
def create_callback(request: HttpRequest, payload: CallbackIn):
    """Create a callback request. An open request for the same number and queue is returned instead (200)."""
    callback, created = do_create_callback(request=CallbackInput(**payload.dict()), api_client=request.auth)
    callback.created = created
    return Status(201 if created else 200, callback)


@api.get("/callbacks/{reference}", response={200: CallbackOut, 401: Error, 404: Error})
def get_callback(request: HttpRequest, reference: str):
    if "\x00" in reference:
        return Status(404, {"detail": "No such callback."})
    # An integration sees the callbacks it created, not other clients' ones.
    callback = CallbackRequest.objects.select_related("queue").filter(reference=reference, api_client=request.auth).first()
    if callback is None:
        return Status(404, {"detail": f"No callback {reference}."})
    callback.created = False
    return Status(200, callback)


@api.post("/callbacks/{reference}/cancel", response={200: CallbackOut, 401: Error, 404: Error, 409: Error})
def cancel_callback(request: HttpRequest, reference: str):
    if "\x00" in reference or not CallbackRequest.objects.filter(reference=reference, api_client=request.auth).exists():
        return Status(404, {"detail": f"No callback {reference}."})
    callback = do_cancel_callback(reference=reference, reason=f"Cancelled by {request.auth}")
    callback.created = False
    return Status(200, callback)
