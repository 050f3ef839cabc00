"""The browser softphone's two reports of a call (see `telephony.sip.softphone`): the agent's page says what its
SIP session did, and kamailio says what each dialog did, signed with the secret they share."""

from __future__ import annotations

import base64
import binascii
import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .. import lifecycle
from ..models import Call, CallParty, Consultation, LineReport
from ..telephony.sip import verify
from ..telephony.sip.softphone import outcome_of
from .workspace import agent_or_refuse

PAGE_EVENTS = ("ringing", "answered", "failed", "ended")
TRANSFER_EVENTS = ("transferred", "transfer_failed")  # the NOTIFYs' verdict on the page's REFER
PROXY_EVENTS = ("started", "ended", "hungup", "failed")  # hungup: the BYE came from the agent's browser


def _refuse(status: int, message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


def _code(value) -> int | None:
    try:
        code = int(value)
    except (TypeError, ValueError):
        return None
    return code if 100 <= code <= 699 else None


def _theirs(agent, call_ref: str, *, lines: bool) -> bool:
    """The agent's own call to a customer; with `lines`, also a call their page placed to a number they consulted or
    conferenced (its `line_ref`)."""
    if Call.objects.filter(switch_ref=call_ref, interaction__agent=agent).exists():
        return True
    return lines and (
        Consultation.objects.filter(line_ref=call_ref, from_agent=agent).exists()
        or CallParty.objects.filter(line_ref=call_ref, call__interaction__agent=agent).exists()
    )


@require_POST
@login_required
def page_event(request: HttpRequest) -> HttpResponse:
    """POST {call_ref, event: ringing|answered|failed|ended, code}: the agent's own call (to the customer, or to a
    number consulted or conferenced), as their page saw it;
    or {call_ref, event: transferred|transfer_failed, code, transfer_id}: how the transfer it was asked went."""
    agent = agent_or_refuse(request)
    try:
        data = json.loads(request.body or b"{}")
        call_ref, event = str(data["call_ref"]), str(data["event"])
    except (ValueError, KeyError, TypeError):
        return _refuse(400, "Send JSON with call_ref and event.")
    if event not in PAGE_EVENTS + TRANSFER_EVENTS:
        return _refuse(400, f"event must be one of {', '.join(PAGE_EVENTS + TRANSFER_EVENTS)}.")
    transfer_id = data.get("transfer_id")
    if event in TRANSFER_EVENTS and not (isinstance(transfer_id, str) and 0 < len(transfer_id) <= 32):
        return _refuse(400, "A transfer's report names its transfer_id.")
    if not _theirs(agent, call_ref, lines=event in PAGE_EVENTS):
        return _refuse(404, "That call is not yours.")
    code = _code(data.get("code"))
    if event in TRANSFER_EVENTS:
        lifecycle.do_line_transfer_report(
            call_ref=call_ref,
            transfer_id=transfer_id,
            ok=event == "transferred",
            code=code,
            source=LineReport.Source.PAGE,
        )
        return HttpResponse(status=204)
    lifecycle.do_line_report(
        report_id=f"page:{call_ref}:{event}",
        call_ref=call_ref,
        source=LineReport.Source.PAGE,
        event=event,
        code=code,
        outcome=outcome_of(event, code),
    )
    return HttpResponse(status=204)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def proxy_event(request: HttpRequest) -> HttpResponse:
    """kamailio's report: e = base64("<dialog id>|<call reference>|started|ended|hungup|failed|<code>|<time>"), s = its
    signature (`telephony.sip.sign`). A repeat is acknowledged and changes nothing."""
    params = request.GET if request.method == "GET" else request.POST
    encoded, signature = params.get("e", ""), params.get("s", "")
    try:
        body = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return _refuse(400, "e must be base64.")
    if not verify(body, signature):
        return _refuse(403, "Bad signature.")
    parts = body.split("|")
    if len(parts) != 5 or parts[2] not in PROXY_EVENTS or not 0 < len(parts[0]) <= 150 or not parts[1]:
        return _refuse(400, "e must read <dialog id>|<call reference>|<event>|<code>|<time>.")
    dialog, call_ref, event, code = parts[0], parts[1], parts[2], _code(parts[3])
    if event == "failed" and code is None:
        return HttpResponse(status=204)  # no code to tell busy from no answer: the page's report (or call supervision) decides
    lifecycle.do_line_report(
        report_id=f"proxy:{dialog}:{event}",
        call_ref=call_ref[:64],
        source=LineReport.Source.PROXY,
        event=event,
        code=code,
        outcome=outcome_of(event, code),
    )
    return HttpResponse(status=204)
