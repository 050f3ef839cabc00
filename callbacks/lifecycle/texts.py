"""Text messages to and from customers: confirmations and reminders by SMS (per queue, beside or instead of
e-mail), the replies customers send, and STOP.

Owns: queueing a text (a `TextMessage` row and its durable effect, in the action's transaction), never to a
number that opted out; a text received (a reply lands in the contact's history; STOP and its usual synonyms opt the
number out of every text, START opts it back in); and the gateway's delivery reports.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from .. import links, messaging
from ..enums import EffectKind, HistoryKind
from ..errors import Invalid
from ..models import CallbackRequest, ContactPhone, SmsOptOut, TextMessage
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
    return SmsOptOut.objects.filter(number=number).exists()


def text_customer(callback: CallbackRequest, body: str, now: datetime, *, kind: str) -> TextMessage | None:
    """Queue a text to the callback's number (None, and a line in its history, when the number opted out)."""
    if opted_out(callback.phone_number):
        record(HistoryKind.TEXT, f"No text sent ({kind}): the number opted out of texts", callback=callback, at=now)
        return None
    text = TextMessage.objects.create(
        direction=TextMessage.Direction.OUT,
        number=callback.phone_number,
        body=messaging.fit(body),
        kind=kind,
        callback=callback,
        contact_id=callback.contact_id,
        created_at=now,
    )
    effects.enqueue(EffectKind.SMS, payload={"text": text.pk}, now=now, key=f"sms:{text.pk}", callback=callback)
    return text


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
def do_receive_text(*, sender: str, body: str, provider_id: str = "") -> TextMessage:
    """A text from a customer: STOP opts the number out, START back in; anything else is a reply, kept in the
    history of the number's latest callback."""
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
        SmsOptOut.objects.filter(number=number).delete()
        message = f"The customer texted {word}: texts to {number} allowed again"
    else:
        message = f"Text from the customer: {body.strip()[:400]}"
    record(HistoryKind.TEXT, message, callback=callback, contact=contact, at=now, text=text.pk)
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
    return text


def notice_channels(callback: CallbackRequest) -> tuple[bool, bool]:
    """(by e-mail, by text): what the queue sends the customer, and what the customer gave."""
    notices = callback.queue.customer_notices
    by_mail = notices in ("email", "both") and bool(callback.customer_email)
    by_text = notices in ("sms", "both") and messaging.can_text()
    return by_mail, by_text


def sender() -> str:
    return settings.RINGBACK_SMS_FROM
