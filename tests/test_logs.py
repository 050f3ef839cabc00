"""Logs: JSON lines with personal data masked in every record, and one access line per request."""

import io
import json
import logging

import pytest

from callbacks.logs import JsonFormatter, MaskPersonalData, mask

from .factories import make_api_client, make_queue


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("dialing +33612345678 now", "dialing ***78 now"),
        ("call 06 12 34 56 78", "call ***78"),
        ("+1 415-555-0123 answered", "***23 answered"),
        (
            "/genesys/1/service/callback/billing?_customer_number=%2B33612345678",
            "/genesys/1/service/callback/billing?_customer_number=***78",
        ),
        ("mail to camille.laurent@example.com", "mail to ***@example.com"),
        # What is not personal stays readable.
        (
            "CB-ABCD2345 offered to agent 12 on 2026-12-01 at 08:00:00",
            "CB-ABCD2345 offered to agent 12 on 2026-12-01 at 08:00:00",
        ),
        ("GET /interactions/123/done/ 204 12.5ms", "GET /interactions/123/done/ 204 12.5ms"),
        ("kamailio blocked 198.51.100.7 (flood)", "kamailio blocked 198.51.100.7 (flood)"),  # an attacker's address
        ("call 06.12.34.56.78", "call ***78"),
    ],
)
def test_mask(raw, masked):
    assert mask(raw) == masked


def _stream_handler():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskPersonalData())
    handler.setFormatter(JsonFormatter())
    return stream, handler


def test_a_json_line_with_masked_message_args_and_extra_fields():
    stream, handler = _stream_handler()
    log = logging.getLogger("tests.logs")
    log.addHandler(handler)
    try:
        log.warning("dial %s failed", "+33612345678", extra={"customer_name": "Camille Laurent", "note": "wife: +33698765432"})
    finally:
        log.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["msg"] == "dial ***78 failed" and line["level"] == "WARNING" and line["logger"] == "tests.logs"
    assert line["customer_name"] == "***" and line["note"] == "wife: ***32"
    assert "Camille" not in stream.getvalue() and "612345678" not in stream.getvalue()


def test_every_request_gets_one_masked_access_line(client, transactional_db):
    make_queue("billing", gms_service="billing")
    _, token = make_api_client("IVR")
    stream, handler = _stream_handler()
    access = logging.getLogger("callbacks.access")
    access.addHandler(handler)
    try:
        client.get("/api/v1/callbacks?phone_number=%2B33612345678", HTTP_AUTHORIZATION=f"Bearer {token}")
    finally:
        access.removeHandler(handler)
    (line,) = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert line["method"] == "GET" and line["status"] == 200 and line["ms"] > 0
    assert "***78" in line["msg"] and "612345678" not in line["msg"]
