"""Text messages to and from customers: confirmations and reminders by SMS (per queue, beside or instead of
e-mail), the replies customers send, and STOP.

Owns: checking the number a visitor typed with a texted code (kept as an HMAC, 10 minutes, 5 tries, hourly
budgets per number and address); queueing a text (a `TextMessage` row and its durable effect, in the action's transaction), never to a
number that opted out; a text received (a reply lands in the contact's history; STOP and its usual synonyms opt the
number out of every text, START opts it back in); and the gateway's delivery reports.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from .. import links, messaging, throttle
from ..enums import EffectKind, HistoryKind
from ..errors import DomainError, Invalid
from ..models import Agent, CallbackRequest, ContactPhone, NumberCheck, Queue, SmsOptOut, TextMessage
from ..models.texts import CODE_MASK, number_check_code, opt_out_keys
from ..models.texts import opted_out as opted_out_numbers
from ..phone import normalize_phone
from . import effects
from .transitions import action, record

# Keywords carriers and gateways treat as an opt-out or opt-in (the CTIA list, and French and Spanish ones).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET", "ARRÊT", "BAJA"})
START_WORDS = frozenset({"START", "UNSTOP", "YES", "ALTA"})
DELIVERY = {
    "delivered": TextMessage.Status.DELIVERED,
    "undelivered": TextMessage.Status.FAILED,
    "failed": TextMessage.Status.FAILED,
}


def opted_out(number: str) -> bool:
    return bool(opted_out_numbers([number]))


def text_customer(callback: CallbackRequest, body: str, now: datetime, *, kind: str) -> TextMessage | None:
    """Queue a text to the callback's number (None, and a line in its history, when the number opted out)."""
    if opted_out(callback.phone_number):
        record(HistoryKind.TEXT, f"No text sent ({kind}): the number opted out of texts", callback=callback, at=now)
        return None
    return text_number(callback.phone_number, body, now, kind=kind, callback=callback)


def text_number(
    number: str,
    body: str,
    now: datetime,
    *,
    kind: str,
    callback: CallbackRequest | None = None,
    agent: Agent | None = None,
    code_of: dict | None = None,
) -> TextMessage:
    """Queue a text to a number: a row, and its durable effect in this transaction (`agent`: who wrote it, whose desk
    hears what the gateway did). `code_of` ({"check", "nonce"}): the body carries `CODE_MASK` where the sender puts
    the number check's code, which is stored nowhere."""
    text = TextMessage.objects.create(
        direction=TextMessage.Direction.OUT,
        number=number,
        body=CODE_MASK.join(messaging.fit(part) for part in body.split(CODE_MASK)),
        kind=kind,
        callback=callback,
        contact_id=callback.contact_id if callback else None,
        created_at=now,
    )
    payload = {"text": text.pk, **({"code_of": code_of} if code_of else {})}
    effects.enqueue(EffectKind.SMS, payload=payload, now=now, key=f"sms:{text.pk}", callback=callback, agent=agent)
    return text


# Checking the number a visitor typed: a 6-digit code, 10 minutes, 5 tries; at most 3 codes an hour to a number and
# 10 from an address.
CODE_TTL = timedelta(minutes=10)
CODE_TRIES = 5
CODES_PER_NUMBER = 3
CODES_PER_ADDRESS = 10


def _digest(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


@action
def do_start_number_check(*, queue: Queue, number: str, request: dict, address: str) -> str:
    """Text a code to `number` for a request on the customer's page; the request waits in the check. Returns the
    page's token for the check. Refused: a number that is no phone number, one that opted out of texts, and past
    the hourly budgets of the number and the address."""
    phone = normalize_phone(number)
    if opted_out(phone):
        raise Invalid(
            gettext("This number asked for no texts (STOP). Text START to %(sender)s, or call us.") % {"sender": sender()},
            field="phone_number",
        )
    for scope, key, limit in (("code-number", phone, CODES_PER_NUMBER), ("code-address", address, CODES_PER_ADDRESS)):
        wait = throttle.hit(scope, key, limit=limit, window=3600)
        if wait is not None:
            raise DomainError(
                gettext("Too many codes asked for; please try again in %(minutes)s minutes.") % {"minutes": max(1, wait // 60)},
                status=429,
                code="too_many_codes",
            )
    now = timezone.now()
    token, nonce = secrets.token_urlsafe(24), secrets.token_hex(16)
    check = NumberCheck.objects.create(
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        queue=queue,
        number=phone,
        code_hash="",
        request=request,
        address=address or None,
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    # No plain code at rest: the check keeps its HMAC, the text "… your code is ••••••", its effect the nonce the
    # sender derives the code from.
    check.code_hash = _digest(f"{check.pk}:{number_check_code(check.pk, nonce)}")
    check.save(update_fields=["code_hash"])
    body = gettext("%(queue)s: your code is %(code)s. It expires in 10 minutes.") % {"queue": queue.name, "code": CODE_MASK}
    text_number(phone, body, now, kind="code", code_of={"check": check.pk, "nonce": nonce})
    return token


def number_check(token: str, *, lock: bool = False) -> NumberCheck:
    rows = NumberCheck.objects.select_for_update() if lock else NumberCheck.objects
    check = rows.select_related("queue").filter(token_hash=hashlib.sha256(token.encode()).hexdigest()).first()
    if check is None:
        raise DomainError(gettext("This code request is not known; please start again."), status=404, code="not_found")
    return check


@action
def do_confirm_number(*, token: str, code: str) -> tuple[NumberCheck | None, str]:
    """The visitor keyed the code: right, and the check is confirmed (once): (check, ""); wrong, and a try is used,
    kept (this action commits it): (None, why). An expired or spent check is refused (Invalid)."""
    check = number_check(token, lock=True)
    now = timezone.now()
    if check.confirmed_at is not None:
        raise DomainError(gettext("This number is already confirmed."), code="confirmed")
    if check.expires_at <= now:
        raise Invalid(gettext("The code has expired; ask for a new one."), field="code", code="expired")
    if check.tries >= CODE_TRIES:
        raise Invalid(gettext("Too many wrong codes; ask for a new one."), field="code", code="too_many_tries")
    given = "".join(ch for ch in code if ch.isdigit())[:6]
    if not hmac.compare_digest(_digest(f"{check.pk}:{given}"), check.code_hash):
        NumberCheck.objects.filter(pk=check.pk).update(tries=F("tries") + 1)
        left = CODE_TRIES - check.tries - 1
        if not left:
            return None, gettext("Too many wrong codes; ask for a new one.")
        return None, gettext("That is not the code (%(left)s tries left).") % {"left": left}
    check.confirmed_at = now
    check.save(update_fields=["confirmed_at"])
    return check, ""


def confirmation_text(callback: CallbackRequest, when: str) -> str:
    """The confirmation, short enough for one segment where the language allows (its link is the manage page)."""
    return gettext("%(queue)s: we will call you %(when)s. Ref %(reference)s. Change or cancel: %(link)s") % {
        "queue": callback.queue.name,
        "when": when,
        "reference": callback.reference,
        "link": links.short_manage_url(callback.reference),
    }


def reminder_text(callback: CallbackRequest, time: str) -> str:
    return gettext("%(queue)s: a reminder, we call you at %(time)s. Change or cancel: %(link)s") % {
        "queue": callback.queue.name,
        "time": time,
        "link": links.short_manage_url(callback.reference),
    }


@action
def do_receive_text(*, sender: str, body: str, provider_id: str = "") -> TextMessage | None:
    """A text from a customer: STOP opts the number out, START back in; anything else is a reply, kept in the
    history of the number's latest callback. The same text reported again (its gateway id) is taken once: None."""
    if provider_id and TextMessage.objects.filter(provider_id=provider_id[:64], direction=TextMessage.Direction.IN).exists():
        return None
    try:
        number = normalize_phone(sender)
    except Invalid:
        number = sender.strip()[:20]
    now = timezone.now()
    word = body.strip().upper().rstrip(".!")
    callback = CallbackRequest.objects.select_related("contact").filter(phone_number=number).order_by("-created_at").first()
    phone = None if callback else ContactPhone.objects.select_related("contact").filter(number=number).first()
    contact = callback.contact if callback else (phone.contact if phone else None)
    text = TextMessage.objects.create(
        direction=TextMessage.Direction.IN,
        number=number,
        body=body[:1600],
        kind="reply",
        status=TextMessage.Status.RECEIVED,
        provider_id=provider_id[:64],
        callback=callback,
        contact=contact,
        created_at=now,
    )
    if word in STOP_WORDS:
        SmsOptOut.objects.get_or_create(number=number, defaults={"opted_out_at": now, "keyword": word[:20]})
        message = f"The customer texted {word}: no more texts to {number}"
    elif word in START_WORDS:
        SmsOptOut.objects.filter(number__in=opt_out_keys([number])).delete()
        message = f"The customer texted {word}: texts to {number} allowed again"
    else:
        message = f"Text from the customer: {body.strip()[:400]}"
    record(HistoryKind.TEXT, message, callback=callback, contact=contact, at=now, text=text.pk)
    # The reply appears in the conversation windows open on the number, and in the Case history of the callback's window.
    effects.push_text_windows(number, history_of=callback.pk if callback else None)
    return text


@action
def do_text_status(*, reference: str, provider_id: str, status: str) -> TextMessage | None:
    """The gateway's delivery report for a text Ringback sent: delivered, or not (the reason in the history)."""
    text = TextMessage.objects.select_for_update().filter(pk=int(reference) if reference.isdigit() else 0).first()
    if text is None or (provider_id and text.provider_id and text.provider_id != provider_id):
        return None
    new = DELIVERY.get(status.lower())
    if new is None or text.status == new:
        return text
    text.status = new
    text.save(update_fields=["status"])
    if new == TextMessage.Status.FAILED:
        record(HistoryKind.TEXT, f"Text to {text.number} not delivered ({status[:40]})", callback=text.callback)
    # Delivered / Not delivered in the conversation windows open on the number (and a failure in the Case history).
    effects.push_text_windows(text.number, history_of=text.callback_id if new == TextMessage.Status.FAILED else None)
    return text


def notice_channels(callback: CallbackRequest) -> tuple[bool, bool]:
    """(by e-mail, by text): what the queue sends the customer, and what the customer gave."""
    notices = callback.queue.customer_notices
    by_mail = notices in ("email", "both") and bool(callback.customer_email)
    by_text = notices in ("sms", "both") and messaging.can_text()
    return by_mail, by_text


def sender() -> str:
    return settings.RINGBACK_SMS_FROM
