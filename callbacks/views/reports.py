"""Reports for supervisors, on the queues they supervise: a summary page (outcomes, dispositions, agent activity) and
two CSV exports streamed so 100,000 rows use bounded memory.

The callback rows come from `presenters.reports.callbacks_report` through a server-side cursor (`iterator`), and each chunk is
written as it is read (`spreadsheet.csv_response`: cells a spreadsheet cannot run, streamed under Daphne too).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from ..board import agent_activity, day_start, outcome_summary
from ..enums import AgentStatus
from ..errors import Invalid
from ..models import agents_for, queues_for, require_supervisor
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
