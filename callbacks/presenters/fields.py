"""A callback as the agent reads it: its configured fields in each zone and section, and its case history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext

from ..channels import spec
from ..enums import FieldFormat, PreviewSection
from ..models import CallbackRequest, HistoryEvent, PreviewField
from ..phone import display_phone

HISTORY_LIMIT = 50


def format_value(value: Any, fmt: str, zone) -> str:
    if value is None or value == "":
        return "—"
    try:
        if fmt == FieldFormat.YES_NO:
            return gettext("Yes") if str(value).lower() in {"1", "true", "yes", "y"} else gettext("No")
        if fmt == FieldFormat.MONEY:
            return formats.number_format(Decimal(str(value)), 2, use_l10n=True, force_grouping=True)
        if fmt == FieldFormat.DATE:
            return formats.date_format(date.fromisoformat(str(value)), "j M Y")
        if fmt == FieldFormat.DATETIME:
            moment = datetime.fromisoformat(str(value))
            if timezone.is_aware(moment):
                moment = moment.astimezone(zone)
            return formats.date_format(moment, "D j M Y, H:i")
    except (ValueError, InvalidOperation):
        pass  # show what the customer gave rather than nothing
    return str(value)


@dataclass
class Row:
    label: str
    value: str


@dataclass
class CallbackView:
    """A callback as the agent sees it: times in both zones, configured fields (each value once, empty ones hidden)."""

    callback: CallbackRequest
    agent_zone: Any
    fields: dict[str, list[Row]] = field(default_factory=dict)
    shown_keys: set[str] = field(default_factory=set)

    @property
    def phone(self) -> str:
        return display_phone(self.callback.phone_number)

    @property
    def attached(self) -> list[Row]:
        """The rest of the IVR / web data: keys no configured field already shows, and only those with a value."""
        return [
            Row(str(k).replace("_", " ").capitalize(), str(v))
            for k, v in sorted(self.callback.data.items())
            if k not in self.shown_keys and v not in (None, "")
        ]


def window_sections(channel: str) -> list[str]:
    """The sections an interaction window shows, in page order (Case Information only on a channel that previews:
    Web Callback)."""
    if spec(channel).preview:
        return [PreviewSection.CASE_INFO, PreviewSection.CALLBACK_INFO]
    return [PreviewSection.CALLBACK_INFO]


def _fields_for(callback: CallbackRequest, configured: list[PreviewField], zone) -> tuple[dict[str, list[Row]], set[str]]:
    """Configured rows per section. A field with no value is left out; in the window, a key shows once, in the first
    section that names it (the notification is a region of its own and keeps its rows)."""
    out: dict[str, list[Row]] = {s.value: [] for s in PreviewSection}
    in_window = window_sections(callback.channel)
    shown: set[str] = set()
    for section in [PreviewSection.NOTIFICATION, *in_window]:
        for f in configured:
            if f.section != section or f.queue_id not in (None, callback.queue_id) or f.channel not in ("", callback.channel):
                continue
            value = callback.data.get(f.key)
            if value in (None, "") or (section in in_window and f.key in shown):
                continue
            if section in in_window:
                shown.add(f.key)
            out[section].append(Row(f.label, format_value(value, f.format, zone)))
    return out, shown


def callback_view(callback: CallbackRequest, agent_zone, configured: list[PreviewField]) -> CallbackView:
    rows, shown = _fields_for(callback, configured, callback.customer_zone)
    return CallbackView(callback, agent_zone, rows, shown)


def case_history(callback_ids: list[int]):
    """The newest events of the callbacks (the interaction windows' Case History): index history_callback_at."""
    return (
        HistoryEvent.objects.filter(callback_id__in=callback_ids)
        .select_related("agent")
        .order_by("-at", "-id")[: HISTORY_LIMIT * len(callback_ids)]
    )
