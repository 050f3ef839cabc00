"""Reports: every callback as one CSV record, streamed so 100,000 rows use bounded memory.

Staff only for now (supervisors' own queues come with the Supervisor roles). The rows come from
`selectors.callbacks_report` through a server-side cursor (`iterator`), and each chunk is written as it is read.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

from django.contrib.admin.views.decorators import staff_member_required
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import selectors
from ..errors import Invalid

CHUNK = 2000


class _Line:
    """csv.writer's file: hands back the line it was given instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _when(request: HttpRequest, name: str) -> datetime | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{name}: use a date or date and time such as 2026-12-01 or 2026-12-01T08:00+01:00.", field=name) from None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _cells(row) -> list:
    return ["" if v is None else v.isoformat() if isinstance(v, datetime) else v for v in row]


def csv_lines(rows) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(selectors.REPORT_COLUMNS)
    for row in rows.iterator(chunk_size=CHUNK):
        yield writer.writerow(_cells(row))


async def csv_lines_async(rows) -> AsyncIterator[str]:
    """Under ASGI a streamed body must be an async iterator, or Django reads it all into memory first."""
    writer = csv.writer(_Line())
    yield writer.writerow(selectors.REPORT_COLUMNS)
    async for row in rows.aiterator(chunk_size=CHUNK):
        yield writer.writerow(_cells(row))


@require_GET
@staff_member_required
def callbacks_csv(request: HttpRequest) -> StreamingHttpResponse:
    rows = selectors.callbacks_report(start=_when(request, "from"), end=_when(request, "to"))
    lines = csv_lines_async(rows) if isinstance(request, ASGIRequest) else csv_lines(rows)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="callbacks-{timezone.now():%Y%m%d-%H%M}.csv"'
    return response
