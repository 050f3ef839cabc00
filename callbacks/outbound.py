"""Outbound HTTP to addresses an integrator chose (webhooks): which addresses Ringback may reach, and one POST to
the address that was checked.

An API client sets its webhook URL itself, so the URL is an attack surface: pointed at 127.0.0.1:6379, at the
cloud's metadata service (169.254.169.254) or at a machine on the private network, Ringback's worker would carry
the attacker's request inside the walls (server-side request forgery). So a webhook's host must resolve only to
public addresses, checked when it is set and again when it is called; the call goes to the address that was
checked (a name that resolves elsewhere a second later, DNS rebinding, gains nothing), and redirects are not
followed. `RINGBACK_WEBHOOK_ALLOW_PRIVATE` lifts the address rule for a private deployment (and the tests' local
receivers).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class Refused(Exception):
    """A URL Ringback will not call, and why (for a person)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    milliseconds: int


def public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(url: str) -> tuple[str, int, str]:
    """The URL's host, port and the one address to call; refused when it is not http(s), has no host, or any of
    its addresses is private, loopback, link-local or reserved (unless the deployment allows private addresses)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("A webhook URL must be http:// or https:// with a host.")
    if parts.username or parts.password:
        raise Refused("A webhook URL must not carry a user name or password; check the signature instead.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("The webhook URL's port is not a number between 1 and 65535.") from None
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Refused(f"The host {parts.hostname} does not resolve.") from None
    addresses = [info[4][0] for info in found]
    if not settings.RINGBACK_WEBHOOK_ALLOW_PRIVATE and not all(public(a) for a in addresses):
        raise Refused(f"The host {parts.hostname} is not a public address; Ringback calls only public webhook URLs.")
    return parts.hostname, port, addresses[0]


def check(url: str) -> str:
    """The URL, if Ringback may call it (else `Refused`)."""
    resolve(url)
    return url


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address checked, whatever the name resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the address checked, with the certificate checked against the URL's host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST `body` to `url` (checked again now), following no redirect; the answer's status and the start of its
    body. Raises `Refused` or `OSError`."""
    host, port, address = resolve(url)
    parts = urlsplit(url)
    kind = PinnedHTTPSConnection if parts.scheme == "https" else PinnedHTTPConnection
    connection = kind(host, port, address, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read(2048).decode("utf-8", "replace")
    finally:
        connection.close()
    return Answer(response.status, text, round((time.monotonic() - started) * 1000))
