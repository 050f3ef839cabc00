"""Text messages (SMS) out of Ringback, behind one interface: a backend sends one text to one number and answers the
provider's id for it. Chosen in settings (`RINGBACK_SMS_BACKEND`):

- `http`: a Twilio-compatible gateway (a form POST of To, From and Body with HTTP Basic), `messaging.http`;
- `sip`: SIP MESSAGE through Ringback's kamailio to a registered phone or the trunk's carrier, `messaging.sip`;
- `none` (the embedded default): texts are refused at the edge, and queues keep to e-mail.

Sending is a durable effect (`lifecycle.effects`), so a text is sent once the action that asked for it commits, and
retried when the gateway fails. What a text costs is counted here too: one segment holds 160 characters of the
GSM 7-bit alphabet, or 70 of anything else (UCS-2); a longer text is split into parts of 153 or 67.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

# The GSM 03.38 basic alphabet, and its extension table (each of those costs two characters).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


class SmsError(Exception):
    """The gateway refused the text, or could not be reached (the effect retries)."""


@dataclass(frozen=True)
class Sent:
    provider_id: str  # the gateway's id for the text, which its status reports name


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, sender: str, reference: str) -> Sent:
        """Send `body` to `to` (E.164) from `sender`; `reference` is Ringback's id for the text (for the status
        reports). Raises SmsError."""


class NoSms:
    """No gateway configured: nothing can be sent (queues offer e-mail only)."""

    def send(self, *, to: str, body: str, sender: str, reference: str) -> Sent:
        raise SmsError("No SMS gateway is configured (RINGBACK_SMS_BACKEND).")


BACKENDS = {
    "none": "callbacks.messaging.NoSms",
    "http": "callbacks.messaging.http.HttpGateway",
    "sip": "callbacks.messaging.sip.SipMessage",
}


@cache
def sms_backend() -> SmsBackend:
    return import_string(BACKENDS[settings.RINGBACK_SMS_BACKEND])()


def can_text() -> bool:
    return settings.RINGBACK_SMS_BACKEND != "none"


def is_gsm(text: str) -> bool:
    return all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text)


# Typography the GSM alphabet lacks, and its plain form.
PLAIN = str.maketrans(
    {"’": "'", "‘": "'", "“": '"', "”": '"', "«": '"', "»": '"', "\u202f": " ", "\u00a0": " ", "–": "-", "—": "-", "…": "..."}
)


def fit(text: str) -> str:
    """The text in the GSM alphabet where that only costs accents the alphabet lacks (á, í, ó, ú, ê, û …, and curly
    quotes), which keeps 160 characters a segment instead of 70; a text that needs more (another script, an emoji)
    stays as it is."""
    if is_gsm(text):
        return text
    folded = "".join(
        ch if ch in GSM_BASIC or ch in GSM_EXTENDED else unicodedata.normalize("NFKD", ch)[0] for ch in text.translate(PLAIN)
    )
    return folded if is_gsm(folded) else text


def segments(text: str) -> int:
    """How many SMS parts `text` takes."""
    if is_gsm(text):
        length = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        return 1 if length <= 160 else -(-length // 153)
    length = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)  # UTF-16 code units
    return 1 if length <= 70 else -(-length // 67)
