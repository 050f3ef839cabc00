"""Voice calls of an interaction, their parties, consultations; retry rules and team targets."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ..enums import (
    ACTIVE_CALL_STATES,
    OPEN_CONSULT_STATES,
    CallOutcome,
    CallState,
    ConsultState,
    MonitorEnd,
    MonitorMode,
    PartyState,
    RetryAction,
)
from .agents import Agent
from .config import Queue
from .work import CallbackRequest, Interaction


class Call(models.Model):
    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="calls")
    callback = models.ForeignKey(CallbackRequest, on_delete=models.CASCADE, related_name="calls")
    switch_ref = models.CharField(max_length=64, unique=True)
    number = models.CharField(max_length=20)
    attempt = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=12, choices=CallState.choices, default=CallState.DIALING)
    outcome = models.CharField(max_length=20, choices=CallOutcome.choices, blank=True)
    started_at = models.DateTimeField()
    connected_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    hold_started_at = models.DateTimeField(null=True, blank=True)
    hold_seconds = models.PositiveIntegerField(default=0)
    # A transfer the line itself carries out (the softphone's REFER): asked, not yet confirmed by the far end.
    transfer_id = models.CharField(max_length=32, blank=True)
    transfer_key = models.CharField(max_length=120, blank=True)  # the Team Communicator target
    transfer_number = models.CharField(max_length=20, blank=True)
    transfer_label = models.CharField(max_length=200, blank=True)
    # The supervisor listening in now (their open session), read with the call so a window's render costs no query.
    monitoring = models.ForeignKey("MonitoringSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The call's recording as the desk shows it ("" none, recording, paused): read with the call, no other query.
    recording = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["interaction"],
                condition=Q(state__in=[s.value for s in ACTIVE_CALL_STATES]),
                name="one_active_call_per_interaction",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "started_at"], name="call_state_started"),
            # The analytics rollup counts dials by the hour they started, connected and ended in.
            models.Index(fields=["started_at"], name="call_started"),
            models.Index(fields=["callback", "started_at"], name="call_callback_started"),
            models.Index(fields=["ended_at"], condition=Q(ended_at__isnull=False), name="call_ended"),
            models.Index(fields=["connected_at"], condition=Q(connected_at__isnull=False), name="call_connected"),
        ]

    def __str__(self) -> str:
        return f"Call {self.switch_ref} to {self.number} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_CALL_STATES


class CallParty(models.Model):
    """Someone added to a call by Instant Call Conference or a consultation.

    An agent is asked first (a Conference request on their desk: Accept or Decline); a number rings, and its answer
    is its accept. The party is open (in the call, or still asked) until `left_at`."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="parties")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.CASCADE, related_name="conferences")
    number = models.CharField(max_length=20, blank=True)
    label = models.CharField(max_length=200)
    state = models.CharField(max_length=12, choices=PartyState.choices, default=PartyState.JOINED)
    asked_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    # The softphone's second call that carries this party: "party-<id>" (an agent), "consult-<id>" (the consultation
    # with an agent it came from), or its `line_ref` (a number: the call the page placed while it rang).
    leg = models.CharField(max_length=40, blank=True)
    # The switch's reference of the call to this party's number (the simulated switch dials it; blank for an agent).
    line_ref = models.CharField(max_length=64, blank=True, db_index=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "call parties"
        indexes = [
            models.Index(fields=["asked_at"], condition=Q(state=PartyState.RINGING), name="party_request_due"),
        ]

    def __str__(self) -> str:
        return self.label


class Consultation(models.Model):
    """Start Consultation: with an agent (who accepts or declines), or with a number (a contact's or a typed one),
    whose answer is its accept. The customer waits on hold."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="consultations")
    from_agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="consultations_started")
    to_agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.CASCADE, related_name="consultations_received")
    number = models.CharField(max_length=20, blank=True, help_text="The number consulted (no agent).")
    label = models.CharField(max_length=200, blank=True)
    target = models.CharField(max_length=60, blank=True, help_text="The Team Communicator target, e.g. contact:7")
    # The switch's reference of the call to the number (blank for an agent: their page or desk takes it).
    line_ref = models.CharField(max_length=64, blank=True, db_index=True)
    state = models.CharField(max_length=12, choices=ConsultState.choices, default=ConsultState.REQUESTED)
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["call"],
                condition=Q(state__in=[s.value for s in OPEN_CONSULT_STATES]),
                name="one_open_consultation_per_call",
            ),
        ]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(state="requested"), name="consult_request_due"),
        ]

    def __str__(self) -> str:
        return f"Consultation {self.from_agent} → {self.target_label} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_CONSULT_STATES

    @property
    def target_label(self) -> str:
        return str(self.to_agent) if self.to_agent_id else self.label

    @property
    def leg(self) -> str:
        """The softphone's call that carries it: its line to a number, or the call between the agents' pages."""
        return self.line_ref or f"consult-{self.pk}"


class RetryRule(models.Model):
    """What happens, per queue, when a dial does not reach the customer."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="retry_rules")
    outcome = models.CharField(
        max_length=20,
        choices=[
            (o.value, o.label)
            for o in (CallOutcome.BUSY, CallOutcome.NO_ANSWER, CallOutcome.ANSWERING_MACHINE, CallOutcome.FAILED)
        ],
    )
    action = models.CharField(max_length=10, choices=RetryAction.choices, default=RetryAction.ASK_AGENT)
    delay_minutes = models.PositiveIntegerField(default=15)

    class Meta:
        ordering = ["queue", "outcome"]
        constraints = [models.UniqueConstraint(fields=["queue", "outcome"], name="one_retry_rule_per_outcome")]

    def __str__(self) -> str:
        return f"{self.queue}: {self.get_outcome_display()} → {self.get_action_display()}"


class FavoriteTarget(models.Model):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="favorites")
    target = models.CharField(max_length=40, help_text="kind:id, e.g. agent:3")
    label = models.CharField(max_length=200)

    class Meta:
        ordering = ["label"]
        constraints = [models.UniqueConstraint(fields=["agent", "target"], name="favorite_unique")]

    def __str__(self) -> str:
        return self.label


class LineReport(models.Model):
    """What a SIP session said of a call — from the agent's page or from the proxy — kept once per report id, so
    a repeat (a retried HTTP call, both sources telling the same end) changes nothing."""

    class Source(models.TextChoices):
        PAGE = "page", "Agent's page"
        PROXY = "proxy", "SIP proxy"

    report_id = models.CharField(max_length=200, unique=True)
    call_ref = models.CharField(max_length=64, db_index=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    event = models.CharField(max_length=20)
    code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="the SIP final response code, if any")
    received_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["received_at"], name="linereport_received")]  # the clock prunes by age

    def __str__(self) -> str:
        return f"{self.call_ref} {self.event} ({self.get_source_display()})"


class MonitoringSession(models.Model):
    """A supervisor listening to (whispering to, barging in on) an agent's call, from Listen to Leave or the call's
    end. The agent's page answers the supervisor's SIP call only with `token` (pushed to both pages, never reused)
    and mixes the audio for `mode`."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="monitoring_sessions")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="monitored")
    supervisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="monitoring")
    mode = models.CharField(max_length=10, choices=MonitorMode.choices, default=MonitorMode.LISTEN)
    token = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=12, choices=MonitorEnd.choices, blank=True)
    board_left_at = models.DateTimeField(
        null=True, blank=True, help_text="when the supervisor's last board closed (the clock ends the session after a grace)"
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # One supervisor on a call at a time, and a supervisor on one call at a time.
            models.UniqueConstraint(fields=["call"], condition=Q(ended_at__isnull=True), name="one_monitor_per_call"),
            models.UniqueConstraint(
                fields=["supervisor"], condition=Q(ended_at__isnull=True), name="one_call_monitored_per_supervisor"
            ),
        ]
        indexes = [  # the clock's sweep: open sessions whose supervisor's board is gone
            models.Index(
                fields=["board_left_at"],
                condition=Q(ended_at__isnull=True, board_left_at__isnull=False),
                name="monitor_board_left",
            )
        ]

    def __str__(self) -> str:
        return f"{self.supervisor} on {self.agent} ({self.get_mode_display()})"
