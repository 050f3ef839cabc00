"""Webhooks, as the integrator drives them through the API: subscriptions, secrets, deliveries and replays.

Owns: subscribing an API client's URL to events (checked: only public addresses, see `callbacks.outbound`),
changing or pausing it, rotating its secret with an overlap during which both secrets sign, deleting it; turning
history rows into deliveries (the history is the outbox, each subscription's cursor marks what it has examined);
and replaying one delivery. Sending is an effect (`effects`), signed when it is sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext

from .. import outbound
from ..enums import EffectKind, EffectStatus
from ..errors import DomainError, Invalid
from ..models import ApiClient, HistoryEvent, WebhookDelivery, WebhookSubscription
from ..models.webhooks import STATE_CHANGED, UPDATED, WEBHOOK_EVENTS, new_secret
from . import effects
from .transitions import action

SUBSCRIPTIONS_PER_CLIENT = 10
MAX_OVERLAP = timedelta(days=7)
BATCH = 200


def checked_url(url: str) -> str:
    try:
        return outbound.check(url)
    except outbound.Refused as refusal:
        raise Invalid(str(refusal), field="url", code="url_refused") from None


def checked_events(events: list[str] | None) -> list[str]:
    """The events asked for, each known, in the catalogue's order; none named: every one."""
    if not events:
        return list(WEBHOOK_EVENTS)
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown:
        raise Invalid(
            gettext("Unknown event %(event)s; use some of %(events)s.")
            % {"event": unknown[0][:60], "events": ", ".join(WEBHOOK_EVENTS)},
            field="events",
        )
    return [event for event in WEBHOOK_EVENTS if event in events]


def subscription_of(client: ApiClient, subscription_id: int, *, lock: bool = False) -> WebhookSubscription:
    """The client's own subscription; another client's is as unknown as a made-up one."""
    rows = WebhookSubscription.objects.select_for_update() if lock else WebhookSubscription.objects
    found = rows.filter(pk=subscription_id, api_client=client).first()
    if found is None:
        raise DomainError(gettext("No webhook %(id)s.") % {"id": subscription_id}, status=404, code="not_found")
    return found


@action
def do_subscribe(*, client: ApiClient, url: str, events: list[str] | None = None) -> WebhookSubscription:
    """A new subscription hears of what happens from now on (not the past), signed with a new secret."""
    ApiClient.objects.select_for_update().filter(pk=client.pk).first()  # one count at a time per client
    if WebhookSubscription.objects.filter(api_client=client).count() >= SUBSCRIPTIONS_PER_CLIENT:
        raise DomainError(
            gettext("A client may have at most %(count)s webhooks.") % {"count": SUBSCRIPTIONS_PER_CLIENT},
            code="too_many",
        )
    newest = HistoryEvent.objects.aggregate(newest=Max("pk"))["newest"] or 0
    return WebhookSubscription.objects.create(
        api_client=client, url=checked_url(url), events=checked_events(events), cursor=newest
    )


@action
def do_update_subscription(
    *,
    client: ApiClient,
    subscription_id: int,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
) -> WebhookSubscription:
    """Another URL or other events, or paused (`active` false: deliveries wait and fail after their tries)."""
    subscription = subscription_of(client, subscription_id, lock=True)
    if url is not None:
        subscription.url = checked_url(url)
    if events is not None:
        subscription.events = checked_events(events)
    if active is not None:
        subscription.active = active
    subscription.save()
    return subscription


@action
def do_rotate_secret(*, client: ApiClient, subscription_id: int, overlap: timedelta) -> WebhookSubscription:
    """A new secret signs from now on; the one it replaces signs too for `overlap` (at most 7 days), so the
    receiver can switch without dropping a call."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise Invalid(gettext("The overlap must be between 0 seconds and 7 days."), field="overlap_seconds")
    subscription = subscription_of(client, subscription_id, lock=True)
    subscription.previous_secret = subscription.secret if overlap else ""
    subscription.previous_secret_until = timezone.now() + overlap if overlap else None
    subscription.secret = new_secret()
    subscription.save()
    return subscription


@action
def do_delete_subscription(*, client: ApiClient, subscription_id: int) -> None:
    """Gone, with its deliveries; calls still queued for it are dropped."""
    subscription_of(client, subscription_id, lock=True).delete()


@action
def do_replay_delivery(*, client: ApiClient, subscription_id: int, delivery_id: int) -> WebhookDelivery:
    """The same event sent again, as a new delivery, to the subscription's URL as it is now (and signed with its
    secrets as they are now). Refused while the delivery is still being tried."""
    subscription = subscription_of(client, subscription_id)
    original = WebhookDelivery.objects.select_related("effect").filter(pk=delivery_id, subscription=subscription).first()
    if original is None:
        raise DomainError(gettext("No delivery %(id)s.") % {"id": delivery_id}, status=404, code="not_found")
    if original.effect is not None and original.effect.status == EffectStatus.PENDING:
        raise DomainError(gettext("This delivery is still being tried."), code="in_progress")
    return deliver(subscription, original.event, timezone.now(), replay_of=original)


def deliver(
    subscription: WebhookSubscription, event: dict, now: datetime, *, replay_of: WebhookDelivery | None = None
) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event_type=event["type"], event=event, replay_of=replay_of, created_at=now
    )
    key = f"webhook:{subscription.pk}:{event['id']}" + (f":replay:{delivery.pk}" if replay_of else "")
    effect = effects.enqueue(EffectKind.WEBHOOK, payload={"delivery": delivery.pk}, now=now, key=key)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(effect=effect)
    return delivery


def event_of(row: HistoryEvent) -> dict:
    """What a history row tells a subscriber: a state change, or an update of the attached data or name."""
    callback = row.callback
    changed = row.data.get("updated")
    return {
        "type": UPDATED if changed is not None else STATE_CHANGED,
        "id": row.pk,
        "at": row.at.isoformat(),
        "reference": callback.reference,
        "queue": callback.queue.slug,
        "state": row.data.get("state", callback.state),
        "message": row.message,
        "desired_time": callback.desired_time.isoformat() if callback.desired_time else None,
        **({"changed": changed} if changed is not None else {}),
    }


def subscriptions_due():
    return WebhookSubscription.objects.select_for_update(skip_locked=True).filter(active=True, api_client__active=True)


def changes_after(subscription: WebhookSubscription, limit: int):
    """History rows of the client's callbacks that a subscriber may hear of (a state change, or attached data
    updated), after the subscription's cursor."""
    return (
        HistoryEvent.objects.filter(pk__gt=subscription.cursor, callback__api_client_id=subscription.api_client_id)
        .filter(Q(data__has_key="state") | Q(data__has_key="updated"))
        .select_related("callback__queue")
        .order_by("pk")[:limit]
    )


@action
def do_queue_webhooks(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Each change of a client's callbacks becomes one delivery per subscription that asked for its kind, in
    order, queued exactly once: the history row is the outbox and the subscription's cursor marks what it has
    examined (both in this transaction)."""
    now = now or timezone.now()
    queued = 0
    for subscription in subscriptions_due():
        rows = list(changes_after(subscription, limit))
        for row in rows:
            event = event_of(row)
            if event["type"] in subscription.events:
                deliver(subscription, event, now)
                queued += 1
        if rows:
            WebhookSubscription.objects.filter(pk=subscription.pk).update(cursor=rows[-1].pk)
    return queued
