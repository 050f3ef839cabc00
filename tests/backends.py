"""Stand-ins for the outside world that misbehave on purpose: a mail server and a switch that fail."""

from django.core.mail.backends.base import BaseEmailBackend

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

    def dial(self, *, call_ref: str, number: str) -> None:
        type(self).dials += 1
        raise ConnectionError("switch control link down")
