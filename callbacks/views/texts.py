"""The SMS gateway's calls to Ringback (the Twilio-compatible dialect): a text a customer sent (a reply, STOP), and
the delivery reports of texts Ringback sent. Each call is signed by the gateway (`X-Twilio-Signature`: Base64 of
HMAC-SHA1, keyed with the gateway's token, of the URL the gateway called followed by every form field's name and
value, sorted by name); an unsigned or forged call is refused (403) and changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .. import lifecycle

EMPTY_ANSWER = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def gateway_signature(url: str, form: dict[str, str]) -> str:
    signed = url + "".join(f"{name}{form[name]}" for name in sorted(form))
    digest = hmac.new(settings.RINGBACK_SMS_GATEWAY_TOKEN.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed_by_gateway(request: HttpRequest) -> bool:
    """The call carries the gateway's signature of the URL it called (as configured, else as received) and its
    form."""
    if not settings.RINGBACK_SMS_GATEWAY_TOKEN:
        return False
    base = settings.RINGBACK_SMS_CALLBACK_BASE.rstrip("/")
    url = f"{base}{request.get_full_path()}" if base else request.build_absolute_uri()
    form = {name: request.POST.get(name, "") for name in request.POST}
    given = request.headers.get("X-Twilio-Signature", "")
    return hmac.compare_digest(gateway_signature(url, form), given)


def refused() -> HttpResponse:
    return HttpResponse("Not signed by the SMS gateway.", status=403, content_type="text/plain")


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    """A text from a customer (`From`, `Body`, `MessageSid`). The same text reported twice is taken once."""
    if not signed_by_gateway(request):
        return refused()
    sender, body, sid = request.POST.get("From", ""), request.POST.get("Body", ""), request.POST.get("MessageSid", "")
    if not sender or len(sender) > 40 or len(body) > 1600 or "\x00" in body + sender + sid:
        return HttpResponse("From and Body are required (Body at most 1,600 characters).", status=400, content_type="text/plain")
    lifecycle.do_receive_text(sender=sender, body=body, provider_id=sid)
    return HttpResponse(EMPTY_ANSWER, content_type="text/xml")


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    """A delivery report (`MessageSid`, `MessageStatus`) for the text `?ref=` names."""
    if not signed_by_gateway(request):
        return refused()
    reference = request.GET.get("ref", "")[:20]
    lifecycle.do_text_status(
        reference=reference,
        provider_id=request.POST.get("MessageSid", "")[:64],
        status=request.POST.get("MessageStatus", "")[:20],
    )
    return HttpResponse(status=204)
