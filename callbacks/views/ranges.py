"""Files answered with HTTP byte ranges (RFC 9110 §14): an <audio> element seeks by asking for `Range: bytes=N-`,
and a player whose server answers 200 to that cannot seek at all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse

CHUNK = 64 * 1024
SINGLE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def requested_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """The first and last byte asked for by a `Range` header, for a file of `size` bytes: None to answer the whole
    file (no header, or a form this server does not split: several ranges, another unit), False when the range
    cannot be satisfied (416)."""
    asked = _single_range(header)
    if asked is None:
        return None
    first, last = asked
    if first == "":  # the last N bytes
        length = int(last)
        return (max(size - length, 0), size - 1) if length and size else False
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return False
    return start, end


def ranged_file_response(
    request: HttpRequest, file: IO[bytes], size: int, *, content_type: str, filename: str, as_attachment: bool = False
) -> HttpResponse:
    """The file, or the byte range the request asks for (206), with `Accept-Ranges` so players know they may seek."""
    asked = requested_range(request.headers.get("Range", ""), size)
    if asked is False:
        file.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if asked is None:
        response = FileResponse(file, as_attachment=as_attachment, filename=filename, content_type=content_type)
    else:
        start, end = asked
        response = StreamingHttpResponse(_read(file, start, end), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
        disposition = "attachment" if as_attachment else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Accept-Ranges"] = "bytes"
    return response


def _read(file: IO[bytes], start: int, end: int) -> Iterator[bytes]:
    try:
        file.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = file.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
    finally:
        file.close()


def starts_inside(request: HttpRequest) -> bool:
    """Whether the request asks for one part of the file that does not begin at its first byte (its end, or from
    byte N on): a player seeking in a file it has already opened, or a download resumed."""
    asked = _single_range(request.headers.get("Range", ""))
    return asked is not None and asked[0] != "0"


def _single_range(header: str) -> tuple[str, str] | None:
    """The first and last positions of a one-range `bytes=` header, as written (either may be empty), or None."""
    match = SINGLE_RANGE.fullmatch(header.strip().replace(" ", ""))
    if not match or match.groups() == ("", ""):
        return None
    return match.groups()
