"""The supervisor's callback report: one row per callback with its counts."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Subquery

from ..models import Call, CallbackRequest, Interaction, Offer

REPORT_FIELDS = [
    ("reference", "reference"),
    ("queue", "queue__slug"),
    *[(name, name) for name in ("channel", "type", "origin", "state", "close_reason", "outcome", "phone_number")],
    *[(name, name) for name in ("customer_name", "created_at", "desired_time", "closed_at", "attempts")],
    ("offers", "offer_count"),
    ("calls", "call_count"),
    ("last_agent", "last_agent"),
    ("disposition", "disposition"),
]


REPORT_COLUMNS = [column for column, _ in REPORT_FIELDS]


def _count_per_callback(rows, path: str) -> Subquery:
    """How many rows point (through `path`) to the outer callback: a correlated COUNT."""
    return Subquery(rows.filter(**{path: OuterRef("pk")}).order_by().values(path).annotate(n=Count("id")).values("n")[:1])


def callbacks_report(
    *, start: datetime | None = None, end: datetime | None = None, queue_ids: list[int] | None = None, agent_id: int | None = None
):
    """One row per callback created in [start, end), with what links its attempts: how many offers and calls it
    had, the last agent who worked it and their disposition. Values only, for streaming."""
    last = Interaction.objects.filter(callback=OuterRef("pk")).order_by("-created_at")
    rows = CallbackRequest.objects.all()
    if start is not None:
        rows = rows.filter(created_at__gte=start)
    if end is not None:
        rows = rows.filter(created_at__lt=end)
    if queue_ids is not None:
        rows = rows.filter(queue_id__in=queue_ids)
    if agent_id is not None:  # the callbacks this agent worked (any of their interactions)
        rows = rows.filter(Exists(Interaction.objects.filter(callback=OuterRef("pk"), agent_id=agent_id)))
    return (
        rows.order_by("created_at", "id")
        .annotate(
            offer_count=_count_per_callback(Offer.objects, "callback"),
            call_count=_count_per_callback(Call.objects, "interaction__callback"),
            last_agent=Subquery(last.values("agent__display_name")[:1]),
            disposition=Subquery(last.values("disposition__label")[:1]),
        )
        .values_list(*[field for _, field in REPORT_FIELDS])
    )
