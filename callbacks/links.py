"""The customer's own link to their callback: signed (`django.core.signing`), expiring, naming only the reference."""

from __future__ import annotations

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
