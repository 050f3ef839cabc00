"""A person's data on request (GDPR articles 15, 17 and 20), for API clients with the Admin role: export everything
about one person, found by phone number or e-mail address, as a zip (`person.json` and the recordings' audio), or
erase it. Other clients are answered 403. Both are refused (409) while one of the person's callbacks is being worked;
every call lands in the audit trail (that it happened and by which client, never who it was about)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema

from ..errors import DomainError
from ..lifecycle.privacy import do_erase_person, do_export_person
from .callbacks import ERRORS, IDEMPOTENT, Error, idempotent

router = Router(tags=["privacy"])

# A body, a state conflict (being worked), another client than an Admin (403); no 404 for an erasure (nothing to
# erase is a 200 that says so), and no Idempotency-Key for an export (so no 409 for a key still running).
ERASE_ERRORS = {**{k: v for k, v in ERRORS.items() if k != 404}, 403: Error}
EXPORT_ERRORS = {**ERRORS, 403: Error}


class PersonIn(Schema):
    model_config = {"extra": "forbid"}
    number: str = Field("", max_length=40, description="The person's phone number, E.164 preferred")
    email: str = Field("", max_length=254, description="… or their e-mail address (any case)")


class ErasureOut(Schema):
    erased: bool = Field(..., description="false: nothing was left to erase (already erased, or never known)")
    detail: str
    cancelled: int = Field(..., description="The person's waiting callbacks cancelled first")
    counts: dict[str, int] = Field(..., description="Rows removed or emptied, by kind (history, notes, recordings …)")


def admin_client(request: HttpRequest):
    if not request.auth.is_admin:
        raise DomainError("This needs an API client with the Admin role.", status=403, code="forbidden")
    return request.auth


ZIP = {"application/zip": {"schema": {"type": "string", "format": "binary"}}}


@router.post(
    "/export",
    response=EXPORT_ERRORS,
    summary="Export a person's data (Admin clients)",
    openapi_extra={"responses": {200: {"description": "A zip: person.json and recordings/…", "content": ZIP}}},
)
def export_person(request: HttpRequest, payload: PersonIn):
    """Everything Ringback holds about the person with this number or address: their contacts, callbacks with
    history, notes, calls, e-mails, recordings' metadata and webhook deliveries, texts, number checks and opt-out,
    in `person.json`, with each recording's audio beside it. Read-only (but for its row in the trail); 404 for a
    person Ringback does not know.

    The one unsafe method without `Idempotency-Key`: it changes nothing, so a retry is safe as it is, and each
    answer that is served is a disclosure the trail must count. Keeping the zip to replay it would hold a copy of
    the person's data, audio included, for a day beyond the reach of their erasure."""
    client = admin_client(request)
    archive = do_export_person(number=payload.number, email=payload.email, by=f"{client} (API)")
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="person.zip"'
    return response


@router.post(
    "/erase",
    response={200: ErasureOut, **ERASE_ERRORS},
    summary="Erase a person's data (Admin clients)",
    openapi_extra=IDEMPOTENT,
)
def erase_person(request: HttpRequest, payload: PersonIn):
    """The person's waiting callbacks are cancelled, then their personal data is erased everywhere (callbacks stay
    for the reports, without them). Calling it again erases nothing and says so (`erased`: false); with the same
    `Idempotency-Key`, it gets the first answer again (the counts of what was erased)."""
    client = admin_client(request)

    def run():
        erasure = do_erase_person(number=payload.number, email=payload.email, by=f"{client} (API)")
        detail = "Erased." if erasure.erased else "Nothing to erase: already erased, or never known."
        return 200, {"erased": erasure.erased, "detail": detail, "cancelled": erasure.cancelled, "counts": erasure.counts}

    return idempotent(request, run)
