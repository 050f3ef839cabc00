"""A Twilio-compatible SMS gateway: `POST <RINGBACK_SMS_GATEWAY_URL>` (Twilio's
`https://api.twilio.com/2010-04-01/Accounts/<sid>/Messages.json`), form-encoded `To`, `From`, `Body` and
`StatusCallback`, with HTTP Basic (account and token); a 2xx JSON answer names the text's `sid`. Many gateways speak
this dialect (Twilio, and the Twilio-compatible APIs of other providers)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

from . import Sent, SmsError

TIMEOUT_SECONDS = 10


class HttpGateway:
    def send(self, *, to: str, body: str, sender: str, reference: str) -> Sent:
        form = {"To": to, "From": sender, "Body": body}
        base = settings.RINGBACK_SMS_CALLBACK_BASE.rstrip("/")
        if base:  # where the gateway reports delivery
            form["StatusCallback"] = f"{base}/sms/status?ref={urllib.parse.quote(reference)}"
        credentials = f"{settings.RINGBACK_SMS_GATEWAY_ACCOUNT}:{settings.RINGBACK_SMS_GATEWAY_TOKEN}".encode()
        request = urllib.request.Request(
            settings.RINGBACK_SMS_GATEWAY_URL,
            data=urllib.parse.urlencode(form).encode(),
            method="POST",
            headers={
                "Authorization": "Basic " + base64.b64encode(credentials).decode(),
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "Ringback-SMS/1",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - the admin's gateway
                answer = json.loads(response.read(65536) or b"{}")
        except urllib.error.HTTPError as error:
            detail = error.read(500).decode("utf-8", "replace")
            raise SmsError(f"The SMS gateway answered {error.code}: {detail}") from None
        except (OSError, ValueError) as error:
            raise SmsError(f"The SMS gateway could not be reached: {error}") from None
        sid = answer.get("sid") if isinstance(answer, dict) else None
        if not sid:
            raise SmsError("The SMS gateway's answer names no message id (sid).")
        return Sent(str(sid)[:64])
