"""Is the SIP side up? kamailio answers an OPTIONS with how many users are registered (its `X-Registered` header,
from usrloc's statistics), and rtpengine answers its control protocol's ping. Used by `/readyz` and `/metrics`
with the browser softphone; each probe is one UDP round trip with a short timeout."""

from __future__ import annotations

import secrets
import socket

from django.conf import settings

TIMEOUT = 1.0


def _round_trip(host: str, port: int, build, timeout: float) -> bytes:
    """One UDP request and its answer; `build(local_host, local_port)` writes the request (SIP names its own address)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((host, port))
        sock.send(build(*sock.getsockname()[:2]))
        return sock.recv(65536)


def options(host: str, port: int, timeout: float = TIMEOUT) -> str:
    """A SIP OPTIONS to host:port and its answer (raises OSError when nothing answers)."""
    tag, call_id, branch = secrets.token_hex(4), secrets.token_hex(8), "z9hG4bK" + secrets.token_hex(6)

    def request(local: str, local_port: int) -> bytes:
        return (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {local}:{local_port};branch={branch};rport\r\n"
            "Max-Forwards: 2\r\n"
            f"From: <sip:ringback-health@{settings.RINGBACK_SIP_DOMAIN}>;tag={tag}\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()

    return _round_trip(host, port, request, timeout).decode(errors="replace")


def kamailio(timeout: float = TIMEOUT) -> int:
    """The number of users registered at kamailio; raises when it does not answer 200."""
    answer = options(settings.RINGBACK_SIP_ADDRESS, settings.RINGBACK_SIP_PORT, timeout)
    status = answer.split("\r\n", 1)[0]
    if not status.startswith("SIP/2.0 200"):
        raise RuntimeError(f"kamailio answered {status[:60]!r}")
    for line in answer.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "x-registered" and value.strip().isdigit():
            return int(value.strip())
    raise RuntimeError("kamailio did not say how many users are registered")


def rtpengine(timeout: float = TIMEOUT) -> str:
    """rtpengine's answer to a ping on its control port ("pong"); raises otherwise."""
    return rtpengine_at(settings.RINGBACK_RTPENGINE_HOST, settings.RINGBACK_RTPENGINE_PORT, timeout)


def rtpengine_at(host: str, port: int, timeout: float = TIMEOUT) -> str:
    cookie = secrets.token_hex(4).encode()
    ping = cookie + b" d7:command4:pinge"
    answer = _round_trip(host, port, lambda *_: ping, timeout)
    if answer != cookie + b" d6:result4:ponge":
        raise RuntimeError(f"rtpengine answered {answer[:60]!r}")
    return "pong"
