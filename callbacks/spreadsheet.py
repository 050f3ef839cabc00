"""CSV files Ringback writes for people to open in a spreadsheet: cells a spreadsheet cannot run, and a body that
streams row by row under WSGI and ASGI alike.

Formula injection (OWASP "CSV Injection"): a cell whose text begins with `=`, `+`, `-`, `@`, a tab or a carriage
return is read as a formula by Excel, LibreOffice and Google Sheets, and customer-controlled text (a name typed on
the public page, sent through the API or GMS) reaches these files. Such a cell is written with a leading `'`, which
every spreadsheet shows as text and hides. Only text is neutralised: a number Ringback computed (attempts,
seconds) is written as the number it is.

Streaming: Django's ASGI handler reads a synchronous iterator whole into memory before it sends a byte, and
`QuerySet.aiterator()` of a `values_list()` query opens its cursor in the event loop (SynchronousOnlyOperation,
the body never ends under Daphne). So the rows are read by an ordinary synchronous iterator, in chunks of lines,
each chunk in the request's own thread (`sync_to_async`, thread-sensitive: a server-side cursor stays on the
connection that opened it).
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LINES_PER_CHUNK = 500


def safe_cell(value) -> str | int | float:
    """One cell as a spreadsheet should read it: empty for None, ISO 8601 for a datetime, text that cannot run."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Line:
    """csv.writer's file: hands back the line it was given instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """The header, then one line per row, every cell made safe; read lazily, row by row."""
    writer = csv.writer(_Line())
    yield writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


async def _in_thread_chunks(lines: Iterator[str]) -> AsyncIterator[str]:
    def next_chunk() -> str:
        return "".join(islice(lines, LINES_PER_CHUNK))

    while chunk := await sync_to_async(next_chunk, thread_sensitive=True)():
        yield chunk


def _chunks(lines: Iterator[str]) -> Iterator[str]:
    while chunk := "".join(islice(lines, LINES_PER_CHUNK)):
        yield chunk


def csv_response(request: HttpRequest, name: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """A download named `name-YYYYmmdd-HHMM.csv`, streamed: an async body under ASGI (Daphne), a sync one under WSGI."""
    lines = csv_lines(header, rows)
    body = _in_thread_chunks(lines) if isinstance(request, ASGIRequest) else _chunks(lines)
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y%m%d-%H%M}.csv"'
    return response
