"""Texts as SIP MESSAGE (RFC 3428) through Ringback's own kamailio, which relays them like calls: to a phone
registered there, or through the trunk to the carrier, who delivers them as SMS.

Ringback is the sender's user agent here: the MESSAGE goes from `RINGBACK_SMS_FROM` (the number customers see and
reply to) with time-limited credentials Ringback mints for that user (`telephony.sip.credentials`, the same
auth_ephemeral scheme agents' browsers use), answering kamailio's 407 challenge with HTTP Digest. The proxy then
applies its dial plan, as it does to calls. One UDP transaction: the request is resent on RFC 3261's timer E until
a final answer or timer F (here `TIMEOUT_SECONDS`); a 2xx is sent, anything else a failed try (the effect retries).

Replies come back the other way: kamailio hands a MESSAGE to the sender number to Ringback on its private channel
(`/sip/message`, `views.softphone.proxy_message`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import time

from django.conf import settings

from ..telephony.sip import credentials
from . import Sent, SmsError

TIMEOUT_SECONDS = 8.0
T1 = 0.5  # RFC 3261's round-trip estimate: retransmissions at T1, 2·T1 … up to T2
T2 = 4.0
STATUS = re.compile(r"^SIP/2\.0 (\d{3}) ?(.*)$")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - HTTP Digest (RFC 2617) is MD5


def _parameters(header: str) -> dict[str, str]:
    """The parameters of a Digest challenge: realm="…", nonce="…", qop="auth", algorithm=MD5 …"""
    return {k.lower(): v or bare for k, v, bare in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header)}


def digest(challenge: str, *, method: str, uri: str, username: str, password: str) -> str:
    """The Proxy-Authorization answering a Digest `challenge` (RFC 2617, with qop=auth when offered)."""
    p = _parameters(challenge.partition(" ")[2])
    realm, nonce = p.get("realm", ""), p.get("nonce", "")
    ha1, ha2 = _md5(f"{username}:{realm}:{password}"), _md5(f"{method}:{uri}")
    fields = [f'username="{username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"', "algorithm=MD5"]
    if "auth" in p.get("qop", "").split(","):
        cnonce, nc = secrets.token_hex(8), "00000001"
        response = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        fields += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    else:
        response = _md5(f"{ha1}:{nonce}:{ha2}")
    fields.append(f'response="{response}"')
    if "opaque" in p:
        fields.append(f'opaque="{p["opaque"]}"')
    return "Digest " + ", ".join(fields)


class SipMessage:
    """The `sip` SMS backend."""

    def send(self, *, to: str, body: str, sender: str, reference: str) -> Sent:
        host, port, domain = settings.RINGBACK_SIP_ADDRESS, settings.RINGBACK_SIP_PORT, settings.RINGBACK_SIP_DOMAIN
        uri, call_id, tag = f"sip:{to}@{domain}", f"sms-{reference}-{secrets.token_hex(8)}", secrets.token_hex(6)
        payload = body.encode()
        authorization = ""
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect((host, port))
            local, local_port = sock.getsockname()[:2]
            for cseq in (1, 2):
                request = (
                    f"MESSAGE {uri} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP {local}:{local_port};branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
                    "Max-Forwards: 70\r\n"
                    f"From: <sip:{sender}@{domain}>;tag={tag}\r\n"
                    f"To: <{uri}>\r\n"
                    f"Call-ID: {call_id}\r\n"
                    f"CSeq: {cseq} MESSAGE\r\n"
                    + (f"Proxy-Authorization: {authorization}\r\n" if authorization else "")
                    + "Content-Type: text/plain;charset=UTF-8\r\n"
                    "User-Agent: Ringback-SMS/1\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n"
                ).encode() + payload
                code, reason, headers = _transaction(sock, request, cseq)
                if code == 407 and not authorization and "proxy-authenticate" in headers:
                    secret = credentials(sender, hours=0.1)
                    authorization = digest(
                        headers["proxy-authenticate"],
                        method="MESSAGE",
                        uri=uri,
                        username=secret["username"],
                        password=secret["password"],
                    )
                    continue
                if 200 <= code < 300:
                    return Sent(call_id[:64])
                raise SmsError(f"The SIP proxy answered {code} {reason}".strip())
        raise SmsError("The SIP proxy refused Ringback's credentials.")


def _transaction(sock: socket.socket, request: bytes, cseq: int) -> tuple[int, str, dict[str, str]]:
    """Send a non-INVITE request over UDP, resent on timer E, and return its final answer: (code, reason, headers
    by lower-case name). Answers to other requests (an earlier CSeq resent late) are skipped."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    interval = T1
    sock.send(request)
    resend_at = time.monotonic() + interval
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise SmsError("The SIP proxy did not answer.")
        if now >= resend_at:
            sock.send(request)
            interval = min(2 * interval, T2)
            resend_at = now + interval
        sock.settimeout(max(0.01, min(resend_at, deadline) - now))
        try:
            raw = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError as error:  # ICMP port unreachable: nothing listens there
            raise SmsError(f"The SIP proxy could not be reached: {error}") from None
        head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n")
        status = STATUS.match(head[0])
        if not status:
            continue
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        if headers.get("cseq", "").split()[:1] != [str(cseq)]:
            continue
        code = int(status.group(1))
        if code >= 200:
            return code, status.group(2), headers
        resend_at = deadline  # a provisional answer: the proxy has it, no more resending (RFC 3261 17.1.2.2)
