"""One definition of a callback request, validated once.

Every front maps its own names onto it: the REST API takes it as its body (`api.CallbackIn` is this class, so its
OpenAPI document is this), GMS maps `_customer_number` and friends, the customer's page its form, and
`manage.py create_callback` its options (generated from these fields). `parse` validates a front's fields into it,
once, and turns a refusal into the same `Invalid` (400, naming the field) on every front but the REST API, whose
framework answers 422 with the same details. `lifecycle.intake` then checks only what needs the database or the
clock: the queue, free slots, the number and its zone, times in the past.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext
from pydantic import BaseModel, Field
from pydantic import ValidationError as SchemaError

from .enums import CallbackType, Channel, Origin
from .errors import Invalid


class CallbackIn(BaseModel):
    queue: str = Field(..., description="Queue slug", min_length=1, max_length=50)
    phone_number: str = Field(..., description="Customer number; E.164 preferred", min_length=1, max_length=40)
    type: CallbackType = CallbackType.IMMEDIATE
    channel: Channel = Channel.VOICE
    origin: Origin = Origin.API
    customer_name: str = Field("", max_length=200)
    desired_time: datetime | None = Field(None, description="ISO 8601 with offset; must fall in a free slot")
    customer_timezone: str = Field(
        "", description="IANA zone, e.g. Europe/Paris; when empty, derived from the phone number (else UTC)", max_length=64
    )
    window_start: datetime | None = Field(None, description="The customer is available from (ISO 8601 with offset)")
    window_end: datetime | None = Field(None, description="… until (after it, the callback expires unreached)")
    instructions: str = Field("", max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, description="Attached key/value data")
    priority: int = Field(5, ge=1, le=10)
    max_attempts: int | None = Field(None, ge=1, le=20)
    email: str = Field("", description="The customer's e-mail address, for a confirmation and a reminder", max_length=254)
    language: str = Field(
        "",
        description=(
            "The customer's language for their e-mails: en, fr or es (fr-CA is read as fr); when empty, the centre's own. "
            "Another language is refused (400, field language)."
        ),
        max_length=35,
        examples=["fr"],
    )


FIELDS: tuple[str, ...] = tuple(CallbackIn.model_fields)


def parse(**fields) -> CallbackIn:
    """A front's request as the one definition, validated once. A field a front leaves as None takes its default.
    Raises Invalid (400) naming the first field at fault, with the schema's own words."""
    try:
        return CallbackIn(**{name: value for name, value in fields.items() if value is not None})
    except SchemaError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else ""
        message = gettext("%(field)s: %(problem)s.") % {"field": name or "request", "problem": first["msg"]}
        raise Invalid(message, field=name or None) from None
