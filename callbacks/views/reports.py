"""Reports for supervisors, on the queues they supervise: a summary page (outcomes, dispositions, agent activity) and
two CSV exports streamed so 100,000 rows use bounded memory.

The callback rows come from `presenters.reports.callbacks_report` through a server-side cursor (`iterator`), and each chunk is
written as it is read (`spreadsheet.csv_response`: cells a spreadsheet cannot run, streamed under Daphne too).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy, pgettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from .. import analytics as figures_of
from .. import lifecycle
from ..board import agent_activity, day_start, outcome_summary
from ..enums import AgentStatus, CallOutcome, Origin
from ..errors import Invalid
from ..models import Queue, ReportSubscription, agents_for, queues_for, require_supervisor
from ..presenters import reports as report_rows
from ..spreadsheet import csv_response

CHUNK = 2000
ACTIVITY_COLUMNS = ["agent", "channel", "ready_s", "not_ready_s", "after_call_work_s", "logged_in_s", "handled", "avg_handle_s"]


def _when(request: HttpRequest, name: str) -> datetime | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        message = gettext("%(name)s: use a date or date and time such as 2026-12-01 or 2026-12-01T08:00+01:00.")
        raise Invalid(message % {"name": name}, field=name) from None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _range(request: HttpRequest) -> tuple[datetime, datetime]:
    """[from, to) from the query; by default today. A bare date as `to` means the end of that day."""
    start = _when(request, "from") or day_start(timezone.now())
    end = _when(request, "to")
    if end is None:
        end = start + timedelta(days=1)
    elif "T" not in request.GET.get("to", "") and " " not in request.GET.get("to", "").strip():
        end += timedelta(days=1)
    if end <= start:
        raise Invalid(gettext("to must be after from."), field="to")
    return start, end


def _queue_ids(request: HttpRequest) -> list[int]:
    ids = list(queues_for(request.user).values_list("pk", flat=True))
    wanted = request.GET.get("queue", "")
    if wanted:
        if not (wanted.isascii() and wanted.isdigit()) or int(wanted) not in ids:
            raise Invalid(gettext("queue: choose one of the queues you supervise."), field="queue")
        return [int(wanted)]
    return ids


def _agent_id(request: HttpRequest) -> int | None:
    wanted = request.GET.get("agent", "")
    if not wanted:
        return None
    if (
        not (wanted.isascii() and wanted.isdigit())
        or not agents_for(request.user, "callbacks.supervise").filter(pk=wanted).exists()
    ):
        raise Invalid(gettext("agent: choose an agent of the queues you supervise."), field="agent")
    return int(wanted)


@require_GET
@login_required
def callbacks_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every callback created in the range in the supervised queues, one record each, linking its attempts."""
    require_supervisor(request.user)
    rows = report_rows.callbacks_report(
        start=_when(request, "from"), end=_when(request, "to"), queue_ids=_queue_ids(request), agent_id=_agent_id(request)
    )
    return csv_response(request, "callbacks", report_rows.REPORT_COLUMNS, rows.iterator(chunk_size=CHUNK))


def _activity(request: HttpRequest):
    start, end = _range(request)
    agents = list(agents_for(request.user, "callbacks.supervise").filter(queues__in=_queue_ids(request)).distinct())
    return start, end, agent_activity(agents, start, end)


@require_GET
@login_required
def agents_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Agent activity over the range: seconds in each status per channel, handled, average handle time."""
    require_supervisor(request.user)
    _, _, lines = _activity(request)
    return csv_response(request, "agent-activity", ACTIVITY_COLUMNS, map(_activity_row, lines))


def _activity_row(a) -> list:
    avg = a.average_handle_seconds
    return [
        a.name,
        a.channel,
        round(a.seconds[AgentStatus.READY]),
        round(a.seconds[AgentStatus.NOT_READY]),
        round(a.seconds[AgentStatus.AFTER_CALL_WORK]),
        round(a.logged_in_seconds),
        a.handled,
        None if avg is None else round(avg),
    ]


@require_GET
@login_required
def reports(request: HttpRequest) -> HttpResponse:
    require_supervisor(request.user)
    start, end, activity = _activity(request)
    return render(
        request,
        "supervisor/reports.html",
        {
            "start": start,
            "end": end,
            "last_day": end - timedelta(days=1),
            "summary": outcome_summary(_queue_ids(request), start, end),
            "activity": activity,
            "queues": queues_for(request.user),
            "agents": agents_for(request.user, "callbacks.supervise").order_by("display_name"),
            "queue": request.GET.get("queue", ""),
            "query": request.GET.urlencode(),
            "statuses": AgentStatus,
            "nav": "reports",
        },
    )


# --- Callback analytics (definitions: callbacks/analytics.py and docs/analytics.md) ---

# One row of figures, the same in the page's tables and the CSV: (CSV column, header, cell).
ANALYTICS_COLUMNS = [
    ("requested", pgettext_lazy("callbacks asked for", "Requested"), lambda f: f.requested),
    ("on_time", gettext_lazy("On time"), lambda f: f.on_time),
    ("late", gettext_lazy("Late"), lambda f: f.late),
    ("missed", gettext_lazy("Missed"), lambda f: f.missed),
    ("on_time_pct", gettext_lazy("On-time rate"), lambda f: _percent(f.on_time_rate)),
    ("wait_to_dial_s", gettext_lazy("Wait to first dial"), lambda f: _rounded(f.average_wait_to_dial)),
    ("wait_to_connect_s", gettext_lazy("Wait to connect"), lambda f: _rounded(f.average_wait_to_connect)),
    ("attempts_per_success", gettext_lazy("Dials per success"), lambda f: _rounded(f.attempts_per_success, 2)),
    ("expired", gettext_lazy("Expired"), lambda f: f.expired),
    ("cancelled", pgettext_lazy("callbacks", "Cancelled"), lambda f: f.cancelled),
    ("menu_abandoned", gettext_lazy("Left the voice menu"), lambda f: f.menu_abandoned),
    ("handled", gettext_lazy("Handled"), lambda f: f.handled),
    ("avg_handle_s", gettext_lazy("Avg handle"), lambda f: _rounded(f.average_handle_seconds)),
]
# The CSV has these too; the page shows them as their own tables.
DIAL_OUTCOMES = [
    "connected",
    *(o.value for o in (CallOutcome.BUSY, CallOutcome.NO_ANSWER, CallOutcome.ANSWERING_MACHINE, CallOutcome.FAILED)),
    "other",
]
BREAKDOWNS = {"hour": gettext_lazy("Hour of the day"), "day": gettext_lazy("Day"), "queue": gettext_lazy("Queue")}


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 1)


def _rounded(value: float | None, digits: int = 0) -> float | int | None:
    if value is None:
        return None
    return round(value, digits) if digits else int(round(value))


def _analytics(request: HttpRequest):
    start, end = _range(request)
    if end - start > timedelta(days=400):
        raise Invalid(gettext("Choose a period of at most 400 days."), field="to")
    queues = list(Queue.objects.filter(pk__in=_queue_ids(request)).order_by("name"))
    return figures_of.analytics(queues, start, end, timezone.get_current_timezone()), queues


def _breakdown(result, queues: list[Queue], by: str) -> list[tuple[str, figures_of.Figures]]:
    if by == "hour":
        return [(f"{hour:02d}:00", f) for hour, f in enumerate(result.by_hour_of_day)]
    if by == "day":
        return [(day.isoformat(), f) for day, f in result.by_day]
    return [(q.name, result.by_queue[q.pk]) for q in queues]


@require_GET
@login_required
def analytics_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The analytics of the period, by hour of the day, day or queue (`by`): every figure of the page, one row each."""
    require_supervisor(request.user)
    by = request.GET.get("by", "day")
    if by not in BREAKDOWNS:
        raise Invalid(gettext("by: use hour, day or queue."), field="by")
    result, queues = _analytics(request)
    header = [by, *(key for key, _, _ in ANALYTICS_COLUMNS), *(f"dials_{o}" for o in DIAL_OUTCOMES)]
    header += [f"lateness_{label}" for label, _ in figures_of.LATENESS]
    header += [f"origin_{o.value}" for o in Origin]
    rows = (
        [label, *(cell(f) for _, _, cell in ANALYTICS_COLUMNS), *(f.dials[o] for o in DIAL_OUTCOMES)]
        + [f.lateness[label] for label, _ in figures_of.LATENESS]
        + [f.by_origin[o.value] for o in Origin]
        for label, f in _breakdown(result, queues, by)
    )
    return csv_response(request, f"analytics-by-{by}", header, rows)


@require_GET
@login_required
def analytics_page(request: HttpRequest) -> HttpResponse:
    require_supervisor(request.user)
    result, queues = _analytics(request)
    total = result.total
    hourly = _breakdown(result, queues, "hour")
    by_hour = [(label, f) for label, f in hourly if f.requested or f.promised or f.handled]
    chart = {
        "hours": [label for label, _ in hourly],
        "hour_requested": [f.requested for f in result.by_hour_of_day],
        "hour_on_time": [_percent(f.on_time_rate) for f in result.by_hour_of_day],
        "days": [day.isoformat() for day, _ in result.by_day],
        "day_requested": [f.requested for _, f in result.by_day],
        "day_on_time": [_percent(f.on_time_rate) for _, f in result.by_day],
        "lateness": [label for label, _ in figures_of.LATENESS],
        "lateness_counts": [total.lateness[label] for label, _ in figures_of.LATENESS],
        "words": {
            "requested": pgettext("callbacks asked for", "Requested"),
            "on_time": gettext("On-time rate"),
            "dials": gettext("First dials"),
            "percent": "%",
        },
    }
    return render(
        request,
        "supervisor/analytics.html",
        {
            "start": result.start,
            "end": result.end,
            "last_day": result.end - timedelta(days=1),
            "zone": result.zone,
            "total": total,
            "columns": [(key, header) for key, header, _ in ANALYTICS_COLUMNS],
            "tables": {
                "hour": [(label, [cell(f) for _, _, cell in ANALYTICS_COLUMNS]) for label, f in by_hour],
                "day": [(label, [cell(f) for _, _, cell in ANALYTICS_COLUMNS]) for label, f in _breakdown(result, queues, "day")],
                "queue": [
                    (label, [cell(f) for _, _, cell in ANALYTICS_COLUMNS]) for label, f in _breakdown(result, queues, "queue")
                ],
            },
            "lateness": [(label, total.lateness[label]) for label, _ in figures_of.LATENESS],
            "dials": [(o, total.dials[o]) for o in DIAL_OUTCOMES],
            "origins": [(Origin(o).label, n) for o, n in total.by_origin.most_common()],
            "chart": chart,
            "queues": queues_for(request.user),
            "queue": request.GET.get("queue", ""),
            "query": request.GET.urlencode(),
            "presets": _presets(),
            "subscriptions": ReportSubscription.objects.filter(user=request.user).order_by("frequency"),
            "frequencies": ReportSubscription.Frequency.choices,
            "nav": "analytics",
        },
    )


def _presets() -> list[tuple[str, str, str]]:
    """Today, the last 7 and 30 days: (label, from, to) as the filters write them."""
    today = timezone.localdate()
    return [
        (gettext("Today"), today.isoformat(), today.isoformat()),
        (gettext("Last 7 days"), (today - timedelta(days=6)).isoformat(), today.isoformat()),
        (gettext("Last 30 days"), (today - timedelta(days=29)).isoformat(), today.isoformat()),
    ]


@require_POST
@login_required
def subscribe_report(request: HttpRequest) -> HttpResponse:
    """Subscribe to the daily or weekly e-mail of one's queues' figures, in the page's language."""
    lifecycle.do_subscribe_report(
        user=request.user, frequency=request.POST.get("frequency", ""), language=translation.get_language() or "en"
    )
    return redirect(reverse("analytics") + "#reports-by-email")


@require_POST
@login_required
def unsubscribe_report(request: HttpRequest, subscription_id: int) -> HttpResponse:
    lifecycle.do_unsubscribe_report(user=request.user, subscription_id=subscription_id)
    return redirect(reverse("analytics") + "#reports-by-email")
