"""The work itself: callback requests, offers, interactions, history, notes."""

import secrets
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils.translation import gettext

from ..channels import spec
from ..enums import (
    OPEN_CALLBACK_STATES,
    CallbackState,
    CallbackType,
    Channel,
    CloseReason,
    ClosingReason,
    HistoryKind,
    InteractionState,
    Language,
    OfferOutcome,
    Origin,
)
from ..errors import DomainError, Refused
from .agents import Agent, person_name
from .config import ApiClient, Queue, queues_for, require_supervisor
from .contacts import Contact

_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference() -> str:
    return "CB-" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))


class CallbackRequest(models.Model):
    reference = models.CharField(max_length=16, unique=True, default=new_reference, editable=False)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.VOICE)
    type = models.CharField(max_length=20, choices=CallbackType.choices, default=CallbackType.IMMEDIATE)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.API)
    state = models.CharField(max_length=20, choices=CallbackState.choices, default=CallbackState.QUEUED)
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="callbacks")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks")
    api_client = models.ForeignKey(ApiClient, null=True, blank=True, on_delete=models.SET_NULL)
    customer_name = models.CharField(max_length=200, blank=True)
    phone_number = models.CharField(max_length=20, help_text="E.164")
    desired_time = models.DateTimeField(null=True, blank=True)
    customer_timezone = models.CharField(max_length=64, default="UTC")
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    instructions = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="Attached data from the IVR or web form.")
    priority = models.PositiveSmallIntegerField(default=5, help_text="1 (low) to 10 (high).")
    # 0 for immediate, 1 for everything else: immediate work goes first at equal priority.
    type_rank = models.PositiveSmallIntegerField(default=1, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    # First time the callback became routable; kept when an offer returns it,
    # so a rejected or timed-out callback keeps its place in line.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # Customer-first dialling: Ringback's voice application has the customer on the line, waiting for an agent.
    on_line_since = models.DateTimeField(null=True, blank=True)
    # The customer was told to call the queue's entry number (GMS's USERORIGINATED): offered to agents only once
    # their call is on the line; it expires at `window_end` if they never call.
    customer_dials_in = models.BooleanField(default=False)
    # A supervisor paused it (GMS's PAUSED): still in line, offered to nobody, until resumed.
    paused_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)
    # A personal callback: offered only to its owner until the queue's grace period after its time.
    owner = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="personal_callbacks")
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The customer's own address, when they gave one: confirmation and reminder e-mails.
    customer_email = models.EmailField(blank=True)
    customer_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The customer's language for their e-mails: the page's on the website, the API's `language`. Empty: the centre's.
    language = models.CharField(
        max_length=8, choices=Language.choices, blank=True, help_text="The customer's e-mails' language. Empty: the centre's own."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)
    # The customer's personal data was erased (retention or a request): the row stays, without them, for the reports.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("supervise", "Can see the live board, the work list and the reports of supervised queues"),
            ("manage_callbacks", "Can reschedule, cancel, reassign and reprioritise callbacks of supervised queues"),
            ("all_queues", "Supervises every queue (the Admin role)"),
            ("personal_data", "Can export and erase a person's data (the Admin role)"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["queue", "phone_number"],
                condition=Q(state__in=[s.value for s in OPEN_CALLBACK_STATES]),
                name="one_open_callback_per_number_and_queue",
            ),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True) | Q(window_end__isnull=True) | Q(window_end__gt=models.F("window_start")),
                name="callback_window_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["queue", "channel", "state", "-priority", "type_rank", "enqueued_at"], name="cb_routing"),
            models.Index(fields=["state", "desired_time"], name="cb_due"),
            models.Index(fields=["phone_number"], name="cb_phone"),
            models.Index(fields=["created_at"], name="cb_created"),  # reports and the analytics rollup, by period
            models.Index(fields=["closed_at"], condition=Q(closed_at__isnull=False), name="cb_closed"),
            models.Index(
                fields=["desired_time"], condition=Q(owner__isnull=False, reminded_at__isnull=True), name="cb_reminder_due"
            ),
            models.Index(
                fields=["desired_time"],
                condition=Q(state="scheduled", customer_reminded_at__isnull=True),
                name="cb_customer_reminder_due",
            ),
            models.Index(
                fields=["window_end"],
                condition=Q(window_end__isnull=False, state__in=["scheduled", "queued"]),
                name="cb_window_end",
            ),
            # Retention's sweep: closed callbacks not erased yet, oldest first.
            models.Index(
                fields=["closed_at"], condition=Q(erased_at__isnull=True, closed_at__isnull=False), name="cb_not_erased"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.phone_number}"

    @property
    def customer_zone(self) -> ZoneInfo:
        return ZoneInfo(self.customer_timezone)

    @property
    def wants_asap(self) -> bool:
        """An immediate callback: the customer asked for a call as soon as possible (its desired time is only when
        it became due)."""
        return self.type == CallbackType.IMMEDIATE or self.desired_time is None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_CALLBACK_STATES

    @property
    def is_preview(self) -> bool:
        return self.type == CallbackType.DELAYED_PREVIEW or spec(self.channel).preview

    @property
    def reason(self) -> str:
        """What the customer wants, in a word: the attached `reason` (IVR or web form), else the instructions."""
        return str(self.data.get("reason") or "") or self.instructions


def callbacks_for(user, perm: str = "callbacks.supervise"):
    """The callbacks of the queues `user` supervises with `perm`."""
    return CallbackRequest.objects.filter(queue__in=queues_for(user, perm))


def get_callback_for_supervisor(user, callback_id: int, perm: str = "callbacks.supervise") -> CallbackRequest:
    """The callback, when it is in a queue `user` supervises; 404 or 403 otherwise."""
    require_supervisor(user, perm)
    callback = CallbackRequest.objects.select_related("queue", "owner", "contact").filter(pk=callback_id).first()
    if callback is None:
        raise DomainError(gettext("That callback does not exist."), status=404, code="not_found")
    if not queues_for(user, perm).filter(pk=callback.queue_id).exists():
        raise Refused(gettext("This callback is in a queue you do not supervise."))
    return callback


class Offer(models.Model):
    callback = models.ForeignKey(CallbackRequest, on_delete=models.CASCADE, related_name="offers")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="offers")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    outcome = models.CharField(max_length=20, choices=OfferOutcome.choices, default=OfferOutcome.OPEN)
    created_at = models.DateTimeField()
    # Until the agent's page acknowledges the notification, the deadline is the delivery window;
    # from then on, the queue's time to answer.
    deadline = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Set when the offer is an Instant Call Transfer: the live call and who sent it.
    call = models.ForeignKey("Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["callback"], condition=Q(outcome=OfferOutcome.OPEN), name="one_open_offer_per_callback"
            ),
            models.UniqueConstraint(
                fields=["agent", "channel"], condition=Q(outcome=OfferOutcome.OPEN), name="one_open_offer_per_agent_channel"
            ),
        ]
        indexes = [
            models.Index(fields=["outcome", "deadline"], name="offer_deadline"),
            # Offers rung but not yet shown on a page: routing counts them on every pass.
            models.Index(fields=["id"], condition=Q(outcome="open", delivered_at__isnull=True), name="offer_undelivered"),
        ]

    def __str__(self) -> str:
        return f"Offer of {self.callback} to {self.agent} ({self.outcome})"


class Interaction(models.Model):
    callback = models.ForeignKey(CallbackRequest, on_delete=models.CASCADE, related_name="interactions")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="interactions")
    offer = models.OneToOneField(Offer, null=True, blank=True, on_delete=models.SET_NULL)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    state = models.CharField(max_length=10, choices=InteractionState.choices, default=InteractionState.OPEN)
    disposition = models.ForeignKey("DispositionCode", null=True, blank=True, on_delete=models.PROTECT)
    # What the last dial told us, for the agent to decide (retry policy "ask the agent").
    last_outcome = models.CharField(max_length=200, blank=True)
    closing_reason = models.CharField(max_length=20, choices=ClosingReason.choices, blank=True)
    # What the agent is told about the closing ("Busy: automatic retry at 10:15 …").
    closing_note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["callback"], condition=Q(state=InteractionState.OPEN), name="one_open_interaction_per_callback"
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "state"], name="interaction_agent_state"),
            models.Index(fields=["agent", "ended_at"], name="interaction_agent_ended"),
            models.Index(fields=["ended_at"], condition=Q(ended_at__isnull=False), name="interaction_ended"),
        ]

    def __str__(self) -> str:
        return f"Interaction {self.pk} ({self.callback})"


class AppendOnlyError(Exception):
    """The history is append-only: rows are added, never changed or removed (except by `purge`)."""


# What may still change in a history row: the contact it is filed under (a callback linked to a contact later), and the
# links to an agent or user who is deleted (set to NULL). The PostgreSQL trigger in migration 0011 says the same.
MUTABLE_HISTORY_FIELDS = frozenset({"contact", "contact_id"})


class HistoryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if set(kwargs) - MUTABLE_HISTORY_FIELDS:
            raise AppendOnlyError("History rows cannot be changed.")
        return super().update(**kwargs)

    def delete(self):
        raise AppendOnlyError("History rows cannot be deleted (see HistoryEvent.objects.purge for data retention).")

    def purge(self) -> int:
        """Delete these rows for retention or a person's erasure (`lifecycle.privacy`, the only caller): the one way
        past the append-only rule. On PostgreSQL it sets `ringback.erasure` for this transaction only (SET LOCAL), and
        the trigger (migration 0039) lets a DELETE through with it, never an UPDATE."""
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL ringback.erasure = 'on'")
            return self._raw_delete(self.db)


class HistoryEvent(models.Model):
    """Append-only: one row for every event of a callback (and agent status changes, and configuration changes).

    The audit trail. On PostgreSQL a trigger refuses UPDATE and DELETE (migration 0011); everywhere the ORM does."""

    callback = models.ForeignKey(CallbackRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="history")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="history")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Who the event is about, besides the agent, when that is not (only) who did it: the supervisor of a monitoring
    # session, also on the row written when the call's end, their logout or their board closing ended it.
    about = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, choices=HistoryKind.choices)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(db_index=True)

    objects = HistoryQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["callback", "at"], name="history_callback_at"),
            models.Index(fields=["kind", "at"], name="history_kind_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.get_kind_display()}: {self.message}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("History rows cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("History rows cannot be deleted.")

    @property
    def by(self) -> str:
        """Who or what did it: the user, else the agent, else the integration that sent the request, else Ringback
        itself (the clock, the switch)."""
        if self.actor_id:
            return person_name(self.actor)
        if self.agent_id:
            return str(self.agent)
        if self.kind == HistoryKind.CREATED and self.callback_id and self.callback.api_client_id:
            return f"{self.callback.api_client} (API)"
        return "Ringback"


class Note(models.Model):
    callback = models.ForeignKey(CallbackRequest, on_delete=models.CASCADE, related_name="notes")
    interaction = models.ForeignKey(Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]
