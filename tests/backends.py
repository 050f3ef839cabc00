"""Stand-ins for the outside world that misbehave on purpose: a mail server and a switch that fail."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as MemoryMailBackend

from callbacks.telephony.simulator.switch import SimulatedSwitch


class FlakyMailBackend(BaseEmailBackend):
    """Refuses the next `failures` sends (a mail server that is down), then delivers into `delivered`."""

    failures = 0
    delivered: list = []
    attempts = 0

    def send_messages(self, email_messages):
        cls = type(self)
        cls.attempts += 1
        if cls.failures > 0:
            cls.failures -= 1
            raise ConnectionRefusedError("SMTP server not reachable")
        cls.delivered.extend(email_messages)
        return len(email_messages)

    @classmethod
    def reset(cls, failures: int) -> None:
        cls.failures, cls.delivered, cls.attempts = failures, [], 0


class UnreachableSwitch(SimulatedSwitch):
    """A switch whose control link is down: every command raises."""

    dials = 0

    def dial(self, *, call_ref: str, number: str, caller_id: str = "", caller_name: str = "") -> None:
        type(self).dials += 1
        raise ConnectionError("switch control link down")


class GreylistingMailBackend(MemoryMailBackend):
    """A mail server that greylists, as many do: the first try of a message to an address at a `greylist.` domain
    is refused for now ("try again later"), the next one is taken. Everything else is taken at once.

    The browser server sends with it, so a journey sees an e-mail Queued (and retried) before it is Sent."""

    refused_once: set[str] = set()

    def send_messages(self, email_messages):
        for message in email_messages:
            key = message.extra_headers.get("Message-ID", "")
            greylisted = any(address.split("@")[-1].startswith("greylist.") for address in message.to)
            if greylisted and key not in self.refused_once:
                self.refused_once.add(key)
                raise smtplib.SMTPResponseException(451, "4.7.1 Greylisted, please try again later")
        return super().send_messages(email_messages)
