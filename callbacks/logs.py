"""Logs as one JSON object a line (RINGBACK_LOG_FORMAT=json, the production default) or plain text, with personal
data masked in every record from every library: phone numbers keep their last two digits, e-mail addresses their
domain, and the values of name-like fields passed as `extra` are hidden."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# A phone number as it appears in URLs, messages and payloads: +33612345678, 0612345678, +1 415 555 0123, %2B336…
PHONE = re.compile(r"(?<![\w/.-])(?:\+|%2B|00)?\d(?:[\s().-]?\d){6,16}(?![\w])")
EMAIL = re.compile(r"[\w.+-]+@([\w-]+\.[\w.-]+)")
NAME_FIELDS = frozenset({"customer_name", "name", "first_name", "last_name", "display_name", "email", "phone", "phone_number"})
# Attributes every LogRecord has: the rest came from `extra=` and are written as fields.
STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _phone(match: re.Match) -> str:
    found = match.group(0)
    if DATE.fullmatch(found) or IPV4.fullmatch(found):  # a date; an address a security event names for the operator
        return found
    return "***" + re.sub(r"\D", "", found)[-2:]


def mask(text: str) -> str:
    text = EMAIL.sub(lambda m: "***@" + m.group(1), text)
    return PHONE.sub(_phone, text)


class MaskPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        record.msg, record.args = mask(message), ()
        for key in list(vars(record)):
            if key in STANDARD:
                continue
            value = getattr(record, key)
            if key in NAME_FIELDS:
                setattr(record, key, "***")
            elif isinstance(value, str):
                setattr(record, key, mask(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in STANDARD:
                out[key] = value if isinstance(value, int | float | bool | type(None)) else str(value)
        if record.exc_info:
            out["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)
