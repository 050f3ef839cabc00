"""Webhooks as an API: an integrator subscribes URLs to events, rotates their secrets, reads its deliveries with
the answers its endpoint gave, and replays one. Each client sees only its own. The events themselves and their
signature are in the document's `webhooks` section (`DOCUMENT`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel

from ..enums import CallbackState, EffectStatus
from ..errors import DomainError
from ..lifecycle import (
    do_delete_subscription,
    do_replay_delivery,
    do_rotate_secret,
    do_subscribe,
    do_update_subscription,
)
from ..lifecycle.webhooks import subscription_of
from ..models import WebhookDelivery, WebhookSubscription
from ..models.webhooks import WEBHOOK_EVENTS
from .callbacks import ALWAYS, CHECKED_ERRORS, CREATE_ERRORS, ERRORS, IDEMPOTENT, idempotent

router = Router(tags=["webhooks"])

EventName = Literal["callback.state_changed", "callback.updated"]
assert set(EventName.__args__) == set(WEBHOOK_EVENTS)  # noqa: S101 - the catalogue and the document agree


class WebhookIn(Schema):
    model_config = {"extra": "forbid"}
    url: str = Field(..., min_length=1, max_length=500, description="https://… (a public address)")
    events: list[EventName] | None = Field(None, max_length=len(WEBHOOK_EVENTS), description="Omitted: every event")


class WebhookPatch(Schema):
    model_config = {"extra": "forbid"}
    url: str | None = Field(None, min_length=1, max_length=500)
    events: list[EventName] | None = Field(None, max_length=len(WEBHOOK_EVENTS))
    active: bool | None = Field(None, description="false: paused (deliveries wait, then fail after their tries)")


class WebhookOut(Schema):
    id: int
    url: str
    events: list[EventName]
    active: bool
    previous_secret_valid_until: datetime | None = Field(
        None, description="During a rotation: until then the previous secret signs too"
    )
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookOut):
    secret: str = Field(..., description="Shown on creation and rotation only: keep it to check signatures")


class RotateIn(Schema):
    overlap_seconds: int = Field(
        86400, ge=0, le=7 * 86400, description="How long the previous secret still signs (default a day; 0: stop now)"
    )


class AnswerOut(Schema):
    at: datetime
    status: int | None = Field(..., description="The endpoint's HTTP status; null when there was no answer")
    body: str = Field(..., description="The start of the answer's body (500 characters)")
    error: str = Field(..., description="Why the try failed without an answer (timeout, refused address …)")
    duration_ms: int | None


class DeliveryOut(Schema):
    id: int
    event_type: EventName
    event_id: int
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None = Field(..., description="While pending: when the next try is due")
    created_at: datetime
    finished_at: datetime | None
    replay_of: int | None = Field(..., description="The delivery this one replays")
    answers: list[AnswerOut] = Field(..., description="The last ten answers, oldest first")
    event: dict[str, Any]


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    count: int
    limit: int
    offset: int


class DeliveryQuery(Schema):
    status: Literal["pending", "delivered", "failed"] | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


def shown(subscription: WebhookSubscription, *, secret: bool = False) -> dict:
    body = {
        "id": subscription.pk,
        "url": subscription.url,
        "events": subscription.events,
        "active": subscription.active,
        "previous_secret_valid_until": subscription.previous_secret_until,
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }
    model = WebhookWithSecret if secret else WebhookOut
    # Python values, not JSON: `as_json` then writes the times as the answer does, and a replay matches it.
    return model(**body, **({"secret": subscription.secret} if secret else {})).model_dump()


STATUS = {EffectStatus.PENDING: "pending", EffectStatus.DONE: "delivered", EffectStatus.FAILED: "failed"}


def delivery_out(delivery: WebhookDelivery) -> dict:
    effect = delivery.effect
    status = STATUS[effect.status] if effect is not None else "failed"
    return {
        "id": delivery.pk,
        "event_type": delivery.event_type,
        "event_id": delivery.event.get("id"),
        "status": status,
        "attempts": effect.attempts if effect is not None else 0,
        "next_attempt_at": effect.next_attempt_at if effect is not None and status == "pending" else None,
        "created_at": delivery.created_at,
        "finished_at": effect.finished_at if effect is not None else None,
        "replay_of": delivery.replay_of_id,
        "answers": delivery.answers,
        "event": delivery.event,
    }


def an_id(value: int) -> int:
    """An id from a path: one no database could hold is simply unknown."""
    if not 1 <= value <= 2**62:
        raise DomainError(f"No webhook or delivery {value}.", status=404, code="not_found")
    return value


# --- Operations ----------------------------------------------------------------------------------------------------

# A replay reads no body (no 415).
REPLAY_ERRORS = {k: v for k, v in ERRORS.items() if k != 415}
# A DELETE has no body to mistype (no 415); its path's id and its Idempotency-Key can be wrong (422).
DELETE_ERRORS = {k: v for k, v in ERRORS.items() if k != 415}


@router.post("", response={201: WebhookWithSecret, **CREATE_ERRORS}, summary="Subscribe a URL", openapi_extra=IDEMPOTENT)
def subscribe(request: HttpRequest, payload: WebhookIn):
    """From now on (not the past), each change of the client's callbacks that the subscription asks for is POSTed
    to the URL, signed. The answer holds the secret; only a rotation shows a secret again. A URL whose host
    resolves to a private, loopback or link-local address is refused (400 `url_refused`); at most 10 per client
    (409 `too_many`)."""
    return idempotent(
        request, lambda: (201, shown(do_subscribe(client=request.auth, url=payload.url, events=payload.events), secret=True))
    )


@router.get("", response={200: list[WebhookOut], **ALWAYS}, summary="The client's webhooks")
def subscriptions(request: HttpRequest):
    return [shown(s) for s in WebhookSubscription.objects.filter(api_client=request.auth).order_by("id")]


@router.get("/{subscription_id}", response={200: WebhookOut, **CHECKED_ERRORS}, summary="One webhook")
def subscription(request: HttpRequest, subscription_id: int):
    return shown(subscription_of(request.auth, an_id(subscription_id)))


@router.patch(
    "/{subscription_id}",
    response={200: WebhookOut, **ERRORS},
    summary="Change a webhook's URL, events or pause it",
    openapi_extra=IDEMPOTENT,
)
def update(request: HttpRequest, subscription_id: int, payload: WebhookPatch):
    """Only what is sent changes: `url` (checked as on subscribing), `events`, `active` (false: paused)."""
    sid = an_id(subscription_id)

    def run():
        changed = do_update_subscription(
            client=request.auth, subscription_id=sid, url=payload.url, events=payload.events, active=payload.active
        )
        return 200, shown(changed)

    return idempotent(request, run)


@router.delete("/{subscription_id}", response={204: None, **DELETE_ERRORS}, summary="Delete a webhook", openapi_extra=IDEMPOTENT)
def delete(request: HttpRequest, subscription_id: int):
    """Its deliveries go with it; calls still queued for it are dropped. With an `Idempotency-Key`, a retry after a
    lost answer gets the 204 again, not a 404."""
    sid = an_id(subscription_id)

    def run():
        do_delete_subscription(client=request.auth, subscription_id=sid)
        return 204, None

    return idempotent(request, run)


@router.post(
    "/{subscription_id}/rotate-secret",
    response={200: WebhookWithSecret, **ERRORS},
    summary="Rotate a webhook's secret",
    openapi_extra=IDEMPOTENT,
)
def rotate(request: HttpRequest, subscription_id: int, payload: RotateIn | None = None):
    """A new secret signs from now on. For `overlap_seconds` (default a day, at most 7 days) every call carries a
    second `v1=` signature made with the previous secret, so a receiver can deploy the new one without missing a
    call. The answer holds the new secret."""
    overlap = timedelta(seconds=payload.overlap_seconds if payload else 86400)
    sid = an_id(subscription_id)
    return idempotent(
        request,
        lambda: (200, shown(do_rotate_secret(client=request.auth, subscription_id=sid, overlap=overlap), secret=True)),
    )


@router.get(
    "/{subscription_id}/deliveries",
    response={200: DeliveryPage, **CHECKED_ERRORS},
    summary="A webhook's deliveries, newest first, with the answers they got",
)
def deliveries(request: HttpRequest, subscription_id: int, query: Query[DeliveryQuery]):
    subscription = subscription_of(request.auth, an_id(subscription_id))
    rows = WebhookDelivery.objects.filter(subscription=subscription).select_related("effect")
    if query.status:
        wanted = {v: k for k, v in STATUS.items()}[query.status]
        rows = rows.filter(effect__status=wanted)
    page = rows.order_by("-created_at", "-id")[query.offset : query.offset + query.limit]
    return {"items": [delivery_out(d) for d in page], "count": rows.count(), "limit": query.limit, "offset": query.offset}


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/replay",
    response={202: DeliveryOut, **REPLAY_ERRORS},
    summary="Send a delivery's event again",
    openapi_extra=IDEMPOTENT,
)
def replay(request: HttpRequest, subscription_id: int, delivery_id: int):
    """The same event (same `id`) as a new delivery, with a new `X-Ringback-Delivery`, to the URL and secrets as they
    are now. Refused (409 `in_progress`) while the delivery is still being tried."""
    sid, did = an_id(subscription_id), an_id(delivery_id)

    def run():
        again = do_replay_delivery(client=request.auth, subscription_id=sid, delivery_id=did)
        return 202, delivery_out(WebhookDelivery.objects.select_related("effect").get(pk=again.pk))

    return idempotent(request, run)


# --- The events, as the document's `webhooks` section -----------------------------------------------------------------


class WebhookEvent(BaseModel):
    type: EventName
    id: int = Field(..., description="The event's id (the history row's): increasing; a replay keeps it")
    at: datetime
    reference: str
    queue: str
    state: CallbackState = Field(..., description="The state it led to (callback.state_changed), or the state it is in")
    message: str = Field(..., description="What happened, for a person")
    desired_time: datetime | None
    changed: list[str] | None = Field(None, description="callback.updated: what changed (data keys, the name)")


SIGNATURE = """Every call is a `POST` with a JSON body (`WebhookEvent`) and these headers:

- `X-Ringback-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`: HMAC-SHA256 of `<t>.<raw body>` with the
  subscription's secret. During a rotation's overlap a second `v1` is made with the previous secret: accept the
  call when any `v1` matches a secret you hold. Refuse a `t` more than five minutes away from your clock (a replayed
  call).
- `X-Ringback-Delivery`: the delivery's key. A retry carries the same key: drop a repeat. A replay asked through the
  API carries a new one, with the same event `id`.
- `X-Ringback-Event`: the event's type.

Answer any 2xx within 5 seconds. Anything else (or no answer) is tried again with back-off, six times in all;
each answer is kept on the delivery (`GET /webhooks/{id}/deliveries`). Ringback follows no redirect."""


def document() -> tuple[dict, dict]:
    """The `webhooks` section of the OpenAPI document, and the component schemas it names."""
    schema = WebhookEvent.model_json_schema(ref_template="#/components/schemas/{model}")
    components = {"WebhookEvent": {k: v for k, v in schema.items() if k != "$defs"}, **schema.get("$defs", {})}
    headers = [
        {"in": "header", "name": name, "required": True, "schema": {"type": "string"}, "description": text}
        for name, text in (
            ("X-Ringback-Signature", "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>[,v1=<previous secret's>]"),
            ("X-Ringback-Delivery", "The delivery's key: the same on every try of one delivery"),
            ("X-Ringback-Event", "The event's type"),
        )
    ]
    summaries = {
        "callback.state_changed": "A callback of the client changed state",
        "callback.updated": "A callback's attached data or customer name changed",
    }
    section = {
        name: {
            "post": {
                "summary": summaries[name],
                "description": SIGNATURE,
                "parameters": headers,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookEvent"}}},
                },
                "responses": {
                    "2XX": {"description": "Received"},
                    "default": {"description": "Not received: tried again with back-off"},
                },
            }
        }
        for name in WEBHOOK_EVENTS
    }
    return section, components


__all__ = ["router", "document"]
