"""The customer's own link to their callback: signed (`django.core.signing`), expiring, naming only the reference."""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings
from django.core import signing

SALT = "ringback.customer-link"


def manage_token(reference: str) -> str:
    return signing.dumps(reference, salt=SALT, compress=False)


def reference_from(token: str) -> str | None:
    """The reference the token was made for, or None when it is forged, damaged or older than its lifetime."""
    try:
        return signing.loads(token, salt=SALT, max_age=settings.RINGBACK_CUSTOMER_LINK_DAYS * 86400)
    except signing.BadSignature:  # includes SignatureExpired
        return None


def manage_url(reference: str) -> str:
    return f"{settings.RINGBACK_PUBLIC_URL.rstrip('/')}/my/{manage_token(reference)}/"


def short_code(reference: str) -> str:
    """`<reference>.<10 characters of an HMAC>`: a link short enough for a text message (the long signed one does
    not leave room for the words). 50 bits of MAC, behind the customer pages' throttle, cannot be guessed."""
    mac = hmac.new(settings.SECRET_KEY.encode(), f"{SALT}.short:{reference}".encode(), hashlib.sha256).digest()
    return f"{reference}.{base64.b32encode(mac).decode()[:10].lower()}"


def short_manage_url(reference: str) -> str:
    return f"{settings.RINGBACK_PUBLIC_URL.rstrip('/')}/m/{short_code(reference)}"


def reference_from_short(code: str) -> str | None:
    """The reference a short code was made for, or None when it is forged."""
    reference, _, _ = code.partition(".")
    if not reference or len(code) > 40:
        return None
    return reference if hmac.compare_digest(short_code(reference), code) else None
