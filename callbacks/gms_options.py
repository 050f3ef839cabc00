"""A GMS service's options, by GMS's own names: what an integrator moving from GMS copies from the service's
configuration section into the queue (admin → Queue → GMS options, as JSON). Only the options Ringback honours are
taken; any other name is refused, so a typo is seen at once rather than ignored."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as SchemaError


class GmsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    disallow_impossible_phone_numbers: bool = Field(
        False,
        alias="_disallow_impossible_phone_numbers",
        description="true: a number that cannot be a phone number anywhere (5115) is refused; false (GMS's default): "
        "it is kept as keyed, digits only",
    )
    throttle_callbacks_per_service_1: int = Field(500, alias="_throttle_callbacks_per_service_1", ge=0, le=1_000_000)
    throttle_ttl_1: int = Field(300, alias="_throttle_ttl_1", ge=1, le=86400)
    throttle_callbacks_per_service_2: int = Field(1000, alias="_throttle_callbacks_per_service_2", ge=0, le=1_000_000)
    throttle_ttl_2: int = Field(3600, alias="_throttle_ttl_2", ge=1, le=86400)

    def throttles(self) -> list[tuple[int, int]]:
        """(limit, seconds) of each per-service rate throttle that is on (a limit of 0 is off)."""
        pairs = [
            (self.throttle_callbacks_per_service_1, self.throttle_ttl_1),
            (self.throttle_callbacks_per_service_2, self.throttle_ttl_2),
        ]
        return [(limit, ttl) for limit, ttl in pairs if limit > 0]


def options_of(raw: dict[str, Any] | None) -> GmsOptions:
    return GmsOptions.model_validate(raw or {})


def validate_gms_options(raw: Any) -> None:
    """The model field's validator: a JSON object of known options with valid values."""
    if not isinstance(raw, dict):
        raise ValidationError('GMS options are a JSON object, e.g. {"_disallow_impossible_phone_numbers": true}.')
    try:
        GmsOptions.model_validate(raw)
    except SchemaError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "options"
        known = ", ".join(f.alias for f in GmsOptions.model_fields.values())
        raise ValidationError(f"{where}: {first['msg']} (known options: {known}).") from None
