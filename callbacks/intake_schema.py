"""One definition of a callback request, validated once.

Every front maps its own names onto it: the REST API takes it as its body (`api.CallbackIn` is this class, so its
OpenAPI document is this), GMS names a field `_<field>` (and maps `_customer_number` and friends), the customer's
page asks for the fields marked public beside its own, and `manage.py create_callback` has an option per field.
A field added to the class is therefore taken by every front at once, and kept: in a column of the callback where
one exists (`IN_COLUMNS`, mapped in `lifecycle.intake`), else in its attached data under its name, where the desk's
configured fields, the exports and the integrations' records read it (`tests/one_field.py` proves it). `parse` validates a front's fields into it,
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
from pydantic.fields import FieldInfo

from .enums import CallbackType, Channel, Origin
from .errors import Invalid


class CallbackIn(BaseModel):
    queue: str = Field(..., description="Queue slug", min_length=1, max_length=50)
    phone_number: str = Field(
        ..., description="Customer number; E.164 preferred", min_length=1, max_length=40, json_schema_extra={"public": True}
    )
    type: CallbackType = CallbackType.IMMEDIATE
    channel: Channel = Channel.VOICE
    origin: Origin = Origin.API
    customer_name: str = Field("", max_length=200, json_schema_extra={"public": True})
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
    email: str = Field(
        "",
        description="The customer's e-mail address, for a confirmation and a reminder",
        max_length=254,
        json_schema_extra={"public": True},
    )
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

# The fields CallbackRequest keeps in columns of their own (`lifecycle.intake` maps them); any other is attached data.
IN_COLUMNS = frozenset(
    {
        "queue",
        "phone_number",
        "type",
        "channel",
        "origin",
        "customer_name",
        "desired_time",
        "customer_timezone",
        "window_start",
        "window_end",
        "instructions",
        "data",
        "priority",
        "max_attempts",
        "email",
        "language",
    }
)


def attached(request: CallbackIn) -> dict[str, Any]:
    """The callback's attached data: what the front attached, and each field with no column of its own, by name."""
    extra = request.model_dump(mode="json", include=set(FIELDS) - IN_COLUMNS, exclude_defaults=True)
    return {**(request.data or {}), **extra}


def public_fields() -> dict[str, FieldInfo]:
    """The fields a customer may be asked for on the request page (`json_schema_extra={"public": True}`)."""
    return {
        name: info
        for name, info in CallbackIn.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("public")
    }


def keypad_fields() -> dict[str, FieldInfo]:
    """The fields the voice menu asks a caller to key in, digits then # (`json_schema_extra={"keypad": True}`), by
    their title: an account or a card number."""
    return {
        name: info
        for name, info in CallbackIn.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("keypad")
    }


def parse(**fields) -> CallbackIn:
    """A front's request as the one definition, validated once. A field a front leaves as None takes its default.
    Raises Invalid (400) naming the first field at fault, with the schema's own words."""
    try:
        return CallbackIn(**{name: value for name, value in fields.items() if value is not None})
    except SchemaError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else ""
        info = CallbackIn.model_fields.get(name)
        shown = (info.title if info is not None and info.title else name) or "request"  # a field's title, if it has one
        message = gettext("%(field)s: %(problem)s.") % {"field": shown, "problem": first["msg"]}
        raise Invalid(message, field=name or None) from None
