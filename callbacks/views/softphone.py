"""The browser softphone's two reports of a call (see `telephony.sip.softphone`): the agent's page says what its
SIP session did, and kamailio says what each dialog did, on its private channel (`telephony.sip`)."""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import time
from functools import cache

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .. import lifecycle, metrics, throttle
from ..lifecycle.voice import AllLinesBusy
from ..models import Call, CallParty, Consultation, LineReport, VoiceSession
from ..telephony import caller_id_text
from ..telephony.sip import agent_user, proxy_token_valid
from ..telephony.sip.softphone import outcome_of
from ..voice import prompts
from .workspace import agent_or_refuse

PAGE_EVENTS = ("ringing", "answered", "failed", "ended")
TRANSFER_EVENTS = ("transferred", "transfer_failed")  # the NOTIFYs' verdict on the page's REFER
PROXY_EVENTS = ("started", "ended", "hungup", "failed")  # hungup: the BYE came from the agent's browser
BLOCK_REASONS = ("flood", "auth")  # kamailio blocked a source: too many requests, or too many failed authentications
MAX_REPORT = 1000
MAX_TEXT = 7000  # a text of 1,600 characters, in UTF-8, and its sender and Call-ID
security = logging.getLogger("callbacks.security")


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


@cache
def _proxy_networks(addresses: str) -> tuple:
    return tuple(ipaddress.ip_network(a.strip(), strict=False) for a in addresses.split(",") if a.strip())


def _from_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _proxy_networks(settings.RINGBACK_SIP_PROXY_ADDRESSES))


def _security_refusal(reason: str, message: str, address: str, detail: str = "") -> JsonResponse:
    """A report refused for what an attacker would try: logged as a security event and counted."""
    security.warning("ringback: security: SIP report refused (%s) from %s%s", reason, address, f": {detail}" if detail else "")
    metrics.SIP_REPORTS_REFUSED.labels(reason).inc()
    return _refuse(403, message)


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def _placed(call_ref: str) -> tuple[int, str, str, str] | None:
    """The agent, the number and the queue's caller ID (number and name) of the call, consultation or conference
    party Ringback placed under this reference (None: no such reference)."""
    return (
        Call.objects.filter(switch_ref=call_ref)
        .values_list("interaction__agent_id", "number", "callback__queue__caller_id", "callback__queue__caller_id_name")
        .first()
        or Consultation.objects.filter(line_ref=call_ref)
        .values_list("from_agent_id", "number", "call__callback__queue__caller_id", "call__callback__queue__caller_id_name")
        .first()
        or CallParty.objects.filter(line_ref=call_ref)
        .values_list(
            "call__interaction__agent_id", "number", "call__callback__queue__caller_id", "call__callback__queue__caller_id_name"
        )
        .first()
    )


def _dialog_mismatch(placed: tuple | None, sip_user: str, dialled: str) -> str | None:
    """Why a dialog kamailio reports is not the call Ringback placed under its reference (`_placed`; None when it
    is): the reference is Ringback's, the dialog came from the agent who owns the call, towards the number Ringback
    dialled."""
    if placed is None:
        return "no call has that reference"
    owner, number = placed[:2]
    if sip_user != agent_user(owner):
        return f"the dialog came from {sip_user}, not the call's agent"
    if not number or _digits(dialled) != _digits(number):
        return "the dialog went to another number than the call's"
    return None


def _proxy_refusal(request: HttpRequest, limit: int = MAX_REPORT) -> HttpResponse | None:
    """Why a request on kamailio's private channel is refused (None: it is kamailio's): an address outside
    RINGBACK_SIP_PROXY_ADDRESSES, too many wrong tokens, a wrong bearer token, or a body longer than `limit`
    bytes (a line, for a report)."""
    address = request.META.get("REMOTE_ADDR", "")
    if not _from_proxy(address):
        return _security_refusal("address", "Reports come from the SIP proxy's own address only.", address)
    if throttle.bad_token_wait(address) is not None:
        return _refuse(429, "Too many wrong tokens from this address: try again later.")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not proxy_token_valid(token.strip()):
        throttle.bad_token(address)
        return _security_refusal("token", "Bad token.", address)
    if len(request.body) > limit:
        return _refuse(400, "A report is one line." if limit == MAX_REPORT else f"At most {limit} bytes.")
    return None


@csrf_exempt
@require_POST
def proxy_caller_id(request: HttpRequest) -> HttpResponse:
    """kamailio asks, before an agent's browser reaches a number outside: whose call is this, and which number does
    the customer see? The body "<call reference>|<agent's SIP user>|<number dialled>", on the private channel (as
    `proxy_event`). The answer is the queue's caller ID (or RINGBACK_SIP_CALLER_ID) as text, "<number>|<name>" when
    the queue has a caller ID name (kamailio shows it in From and P-Asserted-Identity); a dialog that is not
    the call Ringback placed under that reference (another agent's, another number's, a made-up reference) is
    refused with 403, logged and counted, and kamailio refuses the INVITE."""
    refusal = _proxy_refusal(request)
    if refusal is not None:
        return refusal
    try:
        call_ref, sip_user, dialled = request.body.decode().split("|")
    except (UnicodeDecodeError, ValueError):
        return _refuse(400, "A question reads <call reference>|<SIP user>|<number>.")
    if VOICE_LINE.match(sip_user):
        # A line of the voice application calling a customer first: the call Ringback placed on that line.
        placed = (
            VoiceSession.objects.filter(line=sip_user, direction="out", ended_at__isnull=True)
            .values_list("dialled", "queue__caller_id", "queue__caller_id_name")
            .first()
        )
        if placed is None or _digits(placed[0]) != _digits(dialled):
            address = request.META.get("REMOTE_ADDR", "")
            why = "no call out on that line" if placed is None else "another number than the call's"
            return _security_refusal("mismatch", "That dialog is not the call's.", address, f"INVITE from {sip_user}: {why}")
        return HttpResponse(caller_id_text(placed[1], placed[2]), content_type="text/plain")
    placed = _placed(call_ref)
    mismatch = _dialog_mismatch(placed, sip_user, dialled)
    if mismatch:
        address = request.META.get("REMOTE_ADDR", "")
        return _security_refusal("mismatch", "That dialog is not the call's.", address, f"INVITE for {call_ref}: {mismatch}")
    return HttpResponse(caller_id_text(placed[2], placed[3]), content_type="text/plain")


VOICE_LINE = re.compile(r"^ivr-[0-9]{1,3}$")
CALL_ID = re.compile(r"^[\x21-\x7e]{1,200}$")  # a SIP Call-ID: visible ASCII, no spaces


@csrf_exempt
@require_POST
def proxy_entry(request: HttpRequest) -> HttpResponse:
    """kamailio asks, before it routes a call from outside (the carrier, a registered line) that no registered
    phone takes: is the number dialled one of a queue's entry numbers, and which line of the voice application
    answers it? The body "<number dialled>|<caller's SIP user>|<Call-ID>", on the private channel. The answer is
    the line's SIP user ("ivr-2", kamailio sends the call there), 404 when the number is no entry number (kamailio
    routes it as before), 503 when every line has a call (the caller hears busy)."""
    refusal = _proxy_refusal(request)
    if refusal is not None:
        return refusal
    try:
        dialled, caller, call_id = request.body.decode().split("|")
    except (UnicodeDecodeError, ValueError):
        return _refuse(400, "A question reads <number dialled>|<caller>|<Call-ID>.")
    if not CALL_ID.match(call_id) or len(dialled) > 32 or len(caller) > 64:
        return _refuse(400, "A question reads <number dialled>|<caller>|<Call-ID>.")
    try:
        session = lifecycle.do_open_voice_session(dialled=dialled, caller=caller, call_id=call_id)
    except AllLinesBusy:
        return _refuse(503, "Every line of the voice menu has a call.")
    if session is None:
        return _refuse(404, "Not an entry number.")
    return HttpResponse(session.line, content_type="text/plain")


@csrf_exempt
@require_POST
def proxy_event(request: HttpRequest) -> HttpResponse:
    """kamailio's report of a dialog, POSTed on its private channel: from an address in RINGBACK_SIP_PROXY_ADDRESSES,
    with `Authorization: Bearer <token>` (`telephony.sip.proxy_token`), the body
    "<dialog id>|<call reference>|<agent's SIP user>|<event>|<SIP code>|<unix time>|<number dialled>", the event one
    of started, ended, hungup, failed. Or "blocked|<address>|flood|auth|<unix time>": kamailio blocked a source.
    A repeat is acknowledged and changes nothing; a stale report, or one whose dialog is not the call's, is refused
    and logged as a security event."""
    refusal = _proxy_refusal(request)
    if refusal is not None:
        return refusal
    address = request.META.get("REMOTE_ADDR", "")
    try:
        body = request.body.decode()
    except UnicodeDecodeError:
        return _refuse(400, "A report is UTF-8 text.")
    if body.startswith("blocked|"):
        return _blocked(body, address)
    parts = body.split("|", 6)
    if len(parts) != 7 or parts[3] not in PROXY_EVENTS or not 0 < len(parts[0]) <= 150 or not 0 < len(parts[1]) <= 64:
        return _refuse(400, "A report reads <dialog id>|<call reference>|<SIP user>|<event>|<code>|<time>|<number>.")
    dialog, call_ref, sip_user, event, code, sent_at, dialled = (
        parts[0],
        parts[1],
        parts[2],
        parts[3],
        _code(parts[4]),
        parts[5],
        parts[6],
    )
    if not sent_at.isdigit():
        return _refuse(400, "The report's time is a Unix time in seconds.")
    if abs(time.time() - int(sent_at)) > settings.RINGBACK_SIP_REPORT_WINDOW_SECONDS:
        return _security_refusal("stale", "Stale report.", address, f"{event} of {call_ref} sent at {sent_at}")
    mismatch = _dialog_mismatch(_placed(call_ref), sip_user, dialled)
    if mismatch:
        return _security_refusal("mismatch", "That dialog is not the call's.", address, f"{event} of {call_ref}: {mismatch}")
    if event == "failed" and code is None:
        return HttpResponse(status=204)  # no code to tell busy from no answer: the page's report (or call supervision) decides
    lifecycle.do_line_report(
        report_id=f"proxy:{dialog}:{event}",
        call_ref=call_ref,
        source=LineReport.Source.PROXY,
        event=event,
        code=code,
        outcome=outcome_of(event, code),
    )
    return HttpResponse(status=204)


def _blocked(body: str, address: str) -> HttpResponse:
    """kamailio blocked a source (a flood, or repeated failed authentication): a log line and a metric."""
    parts = body.split("|")
    if len(parts) != 4 or parts[2] not in BLOCK_REASONS:
        return _refuse(400, "A block reads blocked|<address>|flood|auth|<time>.")
    security.warning("ringback: security: kamailio blocked %s (%s)", parts[1][:64], parts[2])
    metrics.SIP_BLOCKED.labels(parts[2]).inc()
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def proxy_message(request: HttpRequest) -> HttpResponse:
    """kamailio hands over a text (SIP MESSAGE) sent to Ringback's number (RINGBACK_SMS_BACKEND=sip): the body
    "<sender>|<Call-ID>", a newline, then the text, on the private channel. The text is a customer's reply, STOP or
    START (`lifecycle.do_receive_text`); the same MESSAGE resent (its Call-ID) is taken once."""
    refusal = _proxy_refusal(request, limit=MAX_TEXT)
    if refusal is not None:
        return refusal
    try:
        head, _, text = request.body.decode().partition("\n")
        sender, call_id = head.split("|")
    except (UnicodeDecodeError, ValueError):
        return _refuse(400, "A text reads <sender>|<Call-ID>, a newline, then the text.")
    text = text.strip()
    if not CALL_ID.match(call_id) or not sender or len(sender) > 64 or not text or len(text) > 1600 or "\x00" in text:
        return _refuse(400, "A text reads <sender>|<Call-ID>, a newline, then 1 to 1,600 characters.")
    lifecycle.do_receive_text(sender=sender, body=text, provider_id=f"sip:{call_id}")
    return HttpResponse("taken", content_type="text/plain")


@require_GET
@login_required
def recording_notice(request: HttpRequest, language: str) -> HttpResponse:
    """ "This call may be recorded", spoken in `language`: the agent's softphone plays it into a call whose queue
    announces recording, when the customer answers (generated once with espeak-ng, as the voice menu's clips)."""
    agent_or_refuse(request)
    if language not in prompts.VOICES:
        raise Http404
    response = FileResponse(prompts.clip_path(language, "recording_notice").open("rb"), content_type="audio/wav")
    response["Cache-Control"] = "private, max-age=86400"
    return response
