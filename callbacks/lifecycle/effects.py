"""Durable side effects: switch commands, e-mail and webhooks, enqueued inside the action's transaction, performed by the worker.

Owns: the outbox (`Effect` rows and their `django.tasks` task rows, written in
the same transaction as the action, so a committed action always has its
effect queued and a rolled-back one never does), performing an effect with
an idempotency key, retries with exponential back-off, and the history that
tells the truth ("E-mail queued", then "sent" or "failed after 5 tries").

A runner claims an effect for a lease; a runner that died mid-way is retried
after the lease, so an effect is performed at least once and, when the far
side honours the key (the call reference, the e-mail's Message-ID), once.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from .. import messaging, outbound
from ..enums import EffectKind, EffectStatus, HistoryKind, InteractionState
from ..metrics import EFFECT_FAILURES
from ..models import Agent, CallbackRequest, Effect, Interaction, TextInteraction, TextMessage, WebhookDelivery
from ..models.texts import CODE_MASK, number_check_code, opted_out
from ..models.webhooks import ANSWER_BODY_CHARS, ANSWERS_KEPT
from ..push import Push, push_on_commit
from ..telephony import telephony
from .transitions import record

# Per kind: (tries, first back-off in seconds, lease in seconds). A switch command is
# worth little after a few seconds; an e-mail is worth retrying for minutes.
POLICY: dict[str, tuple[int, float, float]] = {
    EffectKind.EMAIL: (5, 5.0, 120.0),
    EffectKind.WEBHOOK: (6, 5.0, 60.0),
    EffectKind.SMS: (5, 10.0, 60.0),
    EffectKind.RECORD: (8, 1.0, 60.0),  # waits for the switch to know the call; storing may take a few seconds
}
# Effects handled above this layer (the kind's module registers them when it is imported): what performs one, and
# what its last failed try does.
HANDLERS: dict[str, Callable[[Effect], None]] = {}
GIVEN_UP: dict[str, Callable[[Effect, str, datetime], None]] = {}
WEBHOOK_TIMEOUT_SECONDS = 5
SWITCH_POLICY = (3, 1.0, 20.0)
MAX_BACKOFF_SECONDS = 300.0
QUEUE_NAME = "effects"


def policy_for(kind: str) -> tuple[int, float, float]:
    return POLICY.get(kind, SWITCH_POLICY)


def lease_for(kind: str) -> float:
    """How long a runner holds an effect before another may take it over (settings may shorten every lease)."""
    return settings.RINGBACK_EFFECT_LEASE_SECONDS or policy_for(kind)[2]


def stale_after() -> timedelta:
    return timedelta(seconds=settings.RINGBACK_EFFECT_STALE_SECONDS)


def backoff(kind: str, attempts: int) -> timedelta:
    """Delay before try number `attempts + 1`: doubling from the kind's first back-off."""
    _, first, _ = policy_for(kind)
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, first * 2 ** max(0, attempts - 1)))


@task(queue_name=QUEUE_NAME)
def perform_effect(effect_id: int) -> str:
    """The task the worker runs: perform one effect (see `perform`)."""
    return perform(effect_id)


def _schedule(effect: Effect, when: datetime | None) -> None:
    runner = perform_effect if when is None else perform_effect.using(run_after=when)
    runner.enqueue(effect.pk)


def enqueue(
    kind: EffectKind,
    *,
    payload: dict,
    now: datetime,
    key: str = "",
    callback: CallbackRequest | None = None,
    agent: Agent | None = None,
) -> Effect:
    """Queue an effect inside the caller's transaction (its task row commits, or rolls back, with the action)."""
    tries, _, _ = policy_for(kind)
    effect = Effect.objects.create(
        key=key or f"{kind}:{uuid.uuid4().hex}",
        kind=kind,
        payload=payload,
        callback=callback,
        agent=agent,
        max_attempts=tries,
        next_attempt_at=now,
        created_at=now,
    )
    _schedule(effect, None)
    return effect


def switch_command(kind: EffectKind, *, call_ref: str, now: datetime, callback=None, agent=None, **arguments: str) -> Effect:
    """Ask the switch to act on a call, durably. A dial's key is its call reference: it never dials twice."""
    key = f"dial:{call_ref}" if kind == EffectKind.DIAL else ""
    return enqueue(kind, payload={"call_ref": call_ref, **arguments}, now=now, key=key, callback=callback, agent=agent)


def _send_email(effect: Effect) -> None:
    p = effect.payload
    message = EmailMessage(
        p["subject"],
        p["body"],
        settings.DEFAULT_FROM_EMAIL,
        [p["to"]],
        # The idempotency key travels as the Message-ID, so a receiving server can drop a resent copy.
        headers={"Message-ID": f"<{effect.key.replace(':', '.')}@ringback>"},
    )
    message.send()


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 of "<timestamp>.<body>" with a subscription's secret, hex: each `v1=` of `X-Ringback-Signature`."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(signing: list[str], timestamp: str, body: bytes) -> str:
    """`t=<unix time>,v1=<hex>`, with one `v1=` per secret signing now (two during a rotation's overlap)."""
    return ",".join([f"t={timestamp}", *(f"v1={webhook_signature(secret, timestamp, body)}" for secret in signing)])


def _send_webhook(effect: Effect) -> None:
    """POST the delivery's event as JSON to its subscription's URL, signed with the secrets signing now; anything
    but a 2xx answer is a failed try (retried with back-off). The effect's key travels as `X-Ringback-Delivery`, so
    a receiver can drop a repeat; each answer is kept on the delivery."""
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=effect.payload.get("delivery")).first()
    if delivery is None:
        return  # its subscription was deleted: nobody to tell
    subscription = delivery.subscription
    if not subscription.active:
        raise OSError("The subscription is paused.")
    body = json.dumps(delivery.event, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Ringback-Webhooks/1",
        "X-Ringback-Delivery": effect.key,
        "X-Ringback-Event": delivery.event_type,
        "X-Ringback-Signature": signature_header(subscription.signing_secrets(timezone.now()), timestamp, body),
    }
    answer: dict = {"at": timezone.now().isoformat(), "status": None, "body": "", "error": "", "duration_ms": None}
    try:
        got = outbound.post(subscription.url, body, headers, timeout=WEBHOOK_TIMEOUT_SECONDS)
        answer.update(status=got.status, body=got.body[:ANSWER_BODY_CHARS], duration_ms=got.milliseconds)
    except (outbound.Refused, OSError, http.client.HTTPException) as error:
        answer["error"] = f"{type(error).__name__}: {error}"[:ANSWER_BODY_CHARS]
        raise OSError(answer["error"]) from error
    finally:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(answers=[*delivery.answers, answer][-ANSWERS_KEPT:])
    if not 200 <= got.status < 300:
        raise OSError(f"HTTP {got.status}")


def _send_sms(effect: Effect) -> None:
    """Send the text through the configured gateway, unless its number opted out meanwhile (then it is suppressed,
    and that is the effect's outcome). A gateway failure is a failed try (retried with back-off)."""
    text = TextMessage.objects.filter(pk=effect.payload.get("text")).first()
    if text is None:
        return
    if opted_out([text.number]):
        TextMessage.objects.filter(pk=text.pk).update(status=TextMessage.Status.SUPPRESSED)
        return
    body, code_of = text.body, effect.payload.get("code_of")
    if code_of:  # a number check's code: derived here, as it leaves, and kept nowhere
        body = messaging.fit(body.replace(CODE_MASK, number_check_code(code_of["check"], code_of["nonce"])))
    try:
        sent = messaging.sms_backend().send(to=text.number, body=body, sender=settings.RINGBACK_SMS_FROM, reference=str(text.pk))
    except messaging.SmsError as error:
        raise OSError(str(error)) from None
    TextMessage.objects.filter(pk=text.pk).update(status=TextMessage.Status.SENT, provider_id=sent.provider_id)


def _switch(effect: Effect) -> None:
    arguments = dict(effect.payload)
    getattr(telephony(), effect.kind)(**arguments)


def _handler(kind: str) -> Callable[[Effect], None]:
    if kind in HANDLERS:
        return HANDLERS[kind]
    return {EffectKind.EMAIL: _send_email, EffectKind.WEBHOOK: _send_webhook, EffectKind.SMS: _send_sms}.get(kind, _switch)


def _claim(effect_id: int, now: datetime) -> Effect | None:
    with transaction.atomic():
        effect = Effect.objects.select_for_update(skip_locked=True).filter(pk=effect_id).first()
        if effect is None or effect.status != EffectStatus.PENDING:
            return None  # done, failed, or another runner holds it right now
        if effect.claimed_until and effect.claimed_until > now:
            return None  # another runner is on it
        if effect.next_attempt_at > now:
            return None  # an early duplicate: the task scheduled for that time runs it
        effect.attempts += 1
        effect.claimed_until = now + timedelta(seconds=lease_for(effect.kind))
        effect.save(update_fields=["attempts", "claimed_until"])
        return effect


def perform(effect_id: int) -> str:
    """Perform the effect once: skip it when done or claimed, retry with back-off when it fails.

    Returns what happened ("done", "retry", "failed", or "skipped").
    """
    now = timezone.now()
    effect = _claim(effect_id, now)
    if effect is None:
        return "skipped"
    try:
        _handler(effect.kind)(effect)
    except Exception as exc:  # any failure of the far side: retried, then recorded
        return _failed_try(effect, f"{type(exc).__name__}: {exc}"[:500])
    _succeeded(effect)
    return "done"


def _who(effect: Effect) -> list[int]:
    return [effect.agent_id] if effect.agent_id else []


def _push_email_window(effect: Effect) -> None:
    """An agent's e-mail shows the outbox's truth in its window (Queued, Sent, Failed): ring that region too."""
    if effect.kind == EffectKind.EMAIL:
        push_on_commit(Push.EMAIL_CHANGED, agent_ids=_who(effect))


# What an agent's text from a conversation window is (`TextMessage.kind`).
AGENT_TEXT = "agent"


def push_text_windows(number: str, *, history_of: int | None = None) -> None:
    """A text to or from `number` changed (queued, sent, delivered, a reply): the agents with a conversation open on
    that number see it (their texts region is rung; nobody else's). One indexed read; with `history_of` (a callback
    whose history the change wrote to), a second: the agents with that callback's window open see its Case history."""
    agents = TextInteraction.objects.filter(number=number, closed_at__isnull=True).values_list("agent_id", flat=True)
    push_on_commit(Push.TEXT_CHANGED, agent_ids=sorted(set(agents)))
    if history_of:
        open_windows = Interaction.objects.filter(callback_id=history_of, state=InteractionState.OPEN)
        push_on_commit(Push.INTERACTION_CHANGED, agent_ids=sorted(set(open_windows.values_list("agent_id", flat=True))))


def _succeeded(effect: Effect) -> None:
    now = timezone.now()
    with transaction.atomic():
        Effect.objects.filter(pk=effect.pk).update(status=EffectStatus.DONE, finished_at=now, claimed_until=None)
        if effect.kind == EffectKind.EMAIL:
            p = effect.payload
            tries = f" (try {effect.attempts})" if effect.attempts > 1 else ""
            record(
                HistoryKind.EMAIL,
                f"E-mail sent to {p['to']}: {p['subject']}{tries}",
                callback=effect.callback,
                agent=effect.agent,
                at=now,
                effect=effect.key,
            )
        if effect.kind == EffectKind.SMS:
            text = TextMessage.objects.filter(pk=effect.payload.get("text")).first()
            if text is not None:
                tries = f" (try {effect.attempts})" if effect.attempts > 1 else ""
                if text.status == TextMessage.Status.SUPPRESSED:
                    said = f"No text sent to {text.number}: the number opted out of texts"
                elif text.kind == AGENT_TEXT:  # the agent's Send wrote "Text sent to … by …" with the words already
                    said = f"Text to {text.number} taken by the SMS gateway{tries}"
                else:
                    said = f"Text sent to {text.number}{tries}: {text.body[:120]}"
                record(HistoryKind.TEXT, said, callback=effect.callback, at=now, effect=effect.key)
                # Queued → Sent (or Not sent: opted out) in open conversations; an agent's own text rings them below.
                push_text_windows(text.number, history_of=None if effect.agent_id else effect.callback_id)
        # The agent's window shows what the effect changed (the e-mail in the history, the dialled line's link).
        push_on_commit(Push.INTERACTION_CHANGED, agent_ids=_who(effect))
        _push_email_window(effect)


def _failed_try(effect: Effect, error: str) -> str:
    now = timezone.now()
    EFFECT_FAILURES.labels(kind=effect.kind).inc()
    with transaction.atomic():
        effect.last_error = error
        effect.claimed_until = None
        if effect.attempts < effect.max_attempts:
            effect.next_attempt_at = now + backoff(effect.kind, effect.attempts)
            effect.save(update_fields=["last_error", "claimed_until", "next_attempt_at"])
            _schedule(effect, effect.next_attempt_at)
            _push_email_window(effect)  # the e-mail window says the try failed and another follows
            return "retry"
        effect.status = EffectStatus.FAILED
        effect.finished_at = now
        effect.save(update_fields=["last_error", "claimed_until", "status", "finished_at"])
        tries = f"{effect.attempts} tr{'ies' if effect.attempts != 1 else 'y'}"
        if effect.kind == EffectKind.WEBHOOK:  # the integration's own affair: its log is the Effect row (admin)
            return "failed"
        if effect.kind in GIVEN_UP:
            GIVEN_UP[effect.kind](effect, error, now)
            return "failed"
        if effect.kind == EffectKind.EMAIL:
            kind, message = HistoryKind.EMAIL, f"E-mail to {effect.payload['to']} failed after {tries}: {error}"
        elif effect.kind == EffectKind.SMS:
            text = TextMessage.objects.filter(pk=effect.payload.get("text")).first()
            if text is not None:
                TextMessage.objects.filter(pk=text.pk).update(status=TextMessage.Status.FAILED)
                push_text_windows(text.number, history_of=None if effect.agent_id else effect.callback_id)
            kind, message = HistoryKind.TEXT, f"Text to the customer failed after {tries}: {error}"
        else:
            kind, message = HistoryKind.SWITCH, f"The switch did not take “{effect.get_kind_display()}” after {tries}: {error}"
        record(kind, message, callback=effect.callback, agent=effect.agent, at=now, effect=effect.key)
        push_on_commit(Push.INTERACTION_CHANGED, agent_ids=_who(effect))
        _push_email_window(effect)
        return "failed"


def stale_effects(now: datetime, overdue: timedelta | None = None):
    return (
        Effect.objects.select_for_update(skip_locked=True)
        .filter(status=EffectStatus.PENDING, next_attempt_at__lte=now - (overdue or stale_after()))
        .exclude(claimed_until__gt=now)
        .order_by("next_attempt_at")
    )


def requeue_stale(*, now: datetime, overdue: timedelta | None = None, limit: int = 100) -> int:
    """The clock: pending effects whose task was lost (a worker died holding it) get a new task row.

    A duplicate task row is harmless: the first runner performs the effect, the others skip it.
    """
    stale = list(stale_effects(now, overdue)[:limit])
    for effect in stale:
        effect.next_attempt_at = now
        effect.save(update_fields=["next_attempt_at"])
        _schedule(effect, None)
    return len(stale)


def failed_dials(call_refs: list[str]) -> set[str]:
    """The calls among `call_refs` whose dial was given up (the switch never took it)."""
    if not call_refs:
        return set()
    keys = Effect.objects.filter(key__in=[f"dial:{ref}" for ref in call_refs], status=EffectStatus.FAILED)
    return {key.removeprefix("dial:") for key in keys.values_list("key", flat=True)}
