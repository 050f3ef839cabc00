"""Where a customer's callback stands, in their words: their place in line and an honest estimate while it waits,
the booked time when it is scheduled. The customer's page shows it and refreshes it by polling (`standing` view).

An estimate is never a promise: it is a range ("about 10 to 15 minutes"), widened as it grows, and beyond
`RANGE_LIMIT` only the earliest time it can be ("not before 14:10"), since the calendar and the agents' day decide
the rest."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import formats
from django.utils.translation import get_language, gettext, ngettext

from ..enums import CallbackState
from ..models import CallbackRequest
from .schedule import queue_position

SOON = 120  # seconds: under this, "in the next few minutes"
RANGE_LIMIT = 90 * 60  # seconds: beyond this, the earliest time only
STEP = 5  # minutes: a range's ends are on this grid
FINAL = (CallbackState.COMPLETED, CallbackState.CANCELLED, CallbackState.FAILED)


@dataclass(frozen=True)
class Standing:
    state: str
    place: int | None  # 1 = next, while it waits in line
    wait: str  # the estimate in words ("" when there is none to give)
    when: datetime | None  # the booked time, in the customer's zone, when scheduled
    final: bool  # nothing will change any more: the page stops asking

    @property
    def etag(self) -> str:
        """What the customer sees, as an entity tag: the same words give the same tag, whatever the clock says."""
        when = self.when.isoformat() if self.when else ""
        seen = f"{self.state}|{self.place}|{self.wait}|{when}|{get_language()}"
        return '"' + hashlib.sha256(seen.encode()).hexdigest()[:20] + '"'


def customer_standing(callback: CallbackRequest, now: datetime) -> Standing:
    zone = callback.customer_zone
    if callback.state in FINAL:
        return Standing(callback.state, None, "", None, True)
    if callback.state == CallbackState.SCHEDULED:
        when = callback.desired_time.astimezone(zone) if callback.desired_time else None
        return Standing(callback.state, None, "", when, False)
    if callback.state != CallbackState.QUEUED:  # offered, or an agent is on it: no line to stand in
        return Standing(callback.state, None, "", None, False)
    where = queue_position(callback, now)
    return Standing(callback.state, where.position, wait_words(where.ewt_seconds, now, zone), None, False)


def wait_words(seconds: int | None, now: datetime, zone) -> str:
    """An estimated wait as a customer should read it: a range on a 5-minute grid that widens with the estimate,
    or, past an hour and a half, the earliest time it can be."""
    if seconds is None:
        return ""
    if seconds < SOON:
        return gettext("in the next few minutes")
    if seconds > RANGE_LIMIT:
        earliest = (now + timedelta(seconds=seconds * 0.8)).astimezone(zone)
        return gettext("not before %(time)s") % {"time": formats.time_format(earliest, "H:i")}
    low = max(STEP, math.floor(seconds * 0.8 / 60 / STEP) * STEP)
    high = max(low + STEP, math.ceil(seconds * 1.3 / 60 / STEP) * STEP)
    return ngettext("about %(low)s to %(high)s minute", "about %(low)s to %(high)s minutes", high) % {
        "low": low,
        "high": high,
    }
