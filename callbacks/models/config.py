"""What admins configure: queues, reasons, dispositions, preview fields, API clients."""

import hashlib
import re
import secrets
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext

from .. import dialplan
from ..enums import AcceptAction, Channel, DialMode, FieldFormat, PreviewSection, RecordingPolicy, SystemReason
from ..errors import DomainError, Invalid, Refused
from ..gms_options import validate_gms_options
from ..messaging import can_text
from ..phone import normalize_phone
from ..prepared import Prepared

# A caller ID's display name goes into a SIP header (From, P-Asserted-Identity) between quotes: nothing that could
# end the quotes or the header (", \\, <, >, CR, LF) can be in it.
CALLER_NAME_MAX = 30
CALLER_NAME = re.compile(r"[\w .,&'-]{1,30}")

TIMEZONE_CHOICES = sorted((tz, tz) for tz in available_timezones())


class Queue(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True, help_text="Used by the API and the IVR to name the queue.")
    active = models.BooleanField(default=True)
    offer_timeout_seconds = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(600)],
        help_text="How long an agent has to Accept or Reject before the callback goes to the next agent.",
    )
    default_max_attempts = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1)])
    calendar = models.ForeignKey(
        "BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="queues",
        help_text="Business hours, holidays and scheduling slots. Empty: open around the clock, 15-minute slots of 10.",
    )
    gms_service = models.SlugField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="The GMS service name integrators use at /genesys/1/service/callback/<name>. Empty: not served over GMS.",
    )
    gms_options = models.JSONField(
        "GMS options",
        default=dict,
        blank=True,
        validators=[validate_gms_options],
        help_text="The GMS service's options Ringback honours, by GMS's names, e.g. "
        '{"_disallow_impossible_phone_numbers": true, "_throttle_callbacks_per_service_1": 500, "_throttle_ttl_1": 300}. '
        "Empty: GMS's defaults.",
    )
    customer_notices = models.CharField(
        "confirmations and reminders by",
        max_length=5,
        choices=[("email", "E-mail"), ("sms", "Text message"), ("both", "E-mail and text message")],
        default="email",
        help_text="How the customer hears that their callback is booked, and of a scheduled one shortly before: an "
        "e-mail needs the address they gave; a text needs an SMS gateway (RINGBACK_SMS_BACKEND).",
    )
    verify_numbers = models.BooleanField(
        "check numbers by text",
        default=False,
        help_text="On the customer's page, a 6-digit code is texted to the number typed, and the request is taken once "
        "the visitor keys it in (it expires after 10 minutes and allows 5 tries). Needs an SMS gateway.",
    )
    max_queued = models.PositiveIntegerField(
        default=1000, help_text="Immediate callbacks waiting at once before new ones are refused (0: no limit)."
    )
    daily_requests_per_number = models.PositiveSmallIntegerField(
        default=6, help_text="Requests a single number may make per day in this queue (0: no limit)."
    )
    require_disposition = models.BooleanField(default=False, help_text="Agents must set a disposition before Mark Done.")
    personal_grace_minutes = models.PositiveIntegerField(
        default=10, help_text="A personal callback waits this long for its owner after its time, then any agent may take it."
    )
    reminder_minutes = models.PositiveIntegerField(
        default=5, help_text="Remind the owner this long before a personal callback is due."
    )
    after_call_work_seconds = models.PositiveIntegerField(
        default=0, help_text="After Mark Done, agents stay in After Call Work this long (0 = straight back to Ready)."
    )
    ring_seconds = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(120)],
        help_text="How long the customer's phone rings before Ringback hangs up and records No answer (the softphone).",
    )
    monitoring_shown = models.BooleanField(
        "agents see monitoring",
        default=True,
        help_text="Agents of this queue see when a supervisor listens to, whispers to or barges in on their call.",
    )
    recording_policy = models.CharField(
        "call recording",
        max_length=6,
        choices=RecordingPolicy.choices,
        default=RecordingPolicy.NEVER,
        help_text="Never; always, from the moment the customer answers; or when the agent presses Record. The agent "
        "may pause a recording while the customer reads out a card number.",
    )
    recording_notice = models.BooleanField(
        "announce recording",
        default=False,
        help_text="When the customer answers, they hear “This call may be recorded” in their language before the "
        "agent speaks (the browser softphone plays it into the call; the agent hears it too).",
    )
    on_accept = models.CharField(
        max_length=10,
        choices=AcceptAction.choices,
        default=AcceptAction.PREVIEW,
        help_text="What Accept does on a voice callback: open the window Ready to Call (the agent clicks Call), or "
        "place the call at once (the window opens Dialing). Web Callback always opens its preview first.",
    )
    dial_allowed_prefixes = models.CharField(
        "allowed prefixes",
        max_length=300,
        blank=True,
        help_text="The only numbers this queue's agents may call, transfer, consult or conference: E.164 prefixes, e.g. "
        "“+33, +32”. Empty: any number outside the blocked ranges (or the site's default list).",
    )
    dial_blocked_prefixes = models.CharField(
        "blocked prefixes",
        max_length=300,
        blank=True,
        help_text="Prefixes this queue never dials, on top of the premium-rate and fraud-prone ranges every queue blocks, "
        "e.g. “+3381 +3382”.",
    )
    caller_id = models.CharField(
        "caller ID",
        max_length=20,
        blank=True,
        help_text="The number customers see when this queue's agents call, transfer or conference them (E.164, e.g. "
        "“+33 1 84 88 00 00”). Empty: the site's number (RINGBACK_SIP_CALLER_ID).",
    )
    caller_id_name = models.CharField(
        "caller ID name",
        max_length=CALLER_NAME_MAX,
        blank=True,
        help_text="The name shown beside that number where the customer's phone or network shows one, e.g. “Billing” "
        "(letters, digits, spaces and . , - & ' only). Empty: the number alone.",
    )
    dial_mode = models.CharField(
        max_length=20,
        choices=DialMode.choices,
        default=DialMode.AGENT_FIRST,
        help_text="Customer first needs the voice application (manage.py voice): when a callback is due and an agent "
        "is Ready, Ringback calls the customer with the queue's caller ID; a customer who presses 1 is offered to an "
        "agent as “Customer on the line”.",
    )
    customer_hold_seconds = models.PositiveSmallIntegerField(
        default=60,
        validators=[MinValueValidator(15), MaxValueValidator(600)],
        help_text="Customer first: how long a customer who pressed 1 waits for an agent to accept before Ringback "
        "apologises and books a new time.",
    )
    menu_wait_seconds = models.PositiveSmallIntegerField(
        default=6,
        validators=[MinValueValidator(3), MaxValueValidator(20)],
        help_text="The voice menu (on the queue's entry numbers) waits this long for a key before it repeats; after "
        "two silences it says goodbye.",
    )
    menu_offers_times = models.BooleanField(
        default=True,
        help_text="The voice menu offers “press 3 to choose a time” from the queue's free slots in its calendar.",
    )
    promise_minutes = models.PositiveIntegerField(
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="The callback promise: a callback is on time when its first dial comes within this many minutes of "
        "its time (the booked time, or when it was asked for as soon as possible).",
    )
    service_level_seconds = models.PositiveIntegerField(
        default=300,
        validators=[MinValueValidator(10)],
        help_text="Service level target: a callback accepted within this long of becoming due counts as in service level.",
    )
    supervisors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="supervised_queues",
        help_text="Users with the Supervisor role who see and act on this queue (Admins see every queue).",
    )
    # Where a callback goes after Reject, or after an offer nobody answered: its own queue unless one of these is set.
    reject_queue = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="After Reject: this queue."
    )
    reject_point = models.ForeignKey(
        "RoutingPoint",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="After Reject: the queue this routing point's rules choose.",
    )
    timeout_queue = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="After an unanswered offer: this queue.",
    )
    timeout_point = models.ForeignKey(
        "RoutingPoint",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="After an unanswered offer: the queue this routing point's rules choose.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.caller_id:
            try:
                self.caller_id = normalize_phone(self.caller_id)
            except Invalid as error:
                raise ValidationError({"caller_id": error.message}) from None
        self.caller_id_name = " ".join(self.caller_id_name.split())
        if self.caller_id_name and not CALLER_NAME.fullmatch(self.caller_id_name):
            raise ValidationError(
                {"caller_id_name": gettext("A caller ID name is letters, digits, spaces and . , - & ' only (at most 30).")}
            )
        for name in ("dial_allowed_prefixes", "dial_blocked_prefixes"):
            try:
                setattr(self, name, dialplan.clean_prefixes(getattr(self, name)))
            except ValueError as error:
                raise ValidationError({name: str(error)}) from None
        if self.verify_numbers and not can_text():
            raise ValidationError(
                {"verify_numbers": gettext("No SMS gateway is configured (RINGBACK_SMS_BACKEND): texts cannot be sent.")}
            )
        if self.customer_notices in ("sms", "both") and not can_text():
            raise ValidationError(
                {"customer_notices": gettext("No SMS gateway is configured (RINGBACK_SMS_BACKEND): texts cannot be sent.")}
            )
        for event in ("reject", "timeout"):
            if getattr(self, f"{event}_queue_id") and getattr(self, f"{event}_point_id"):
                raise ValidationError({f"{event}_point": "Choose a queue or a routing point, not both."})


# --- Who may see and act on which queues: the permission getters (in the style of Healthchecks' _get_rw_check_for_user) --


def supervises(user, perm: str = "callbacks.supervise") -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(perm))


def queues_for(user, perm: str = "callbacks.supervise"):
    """The queues `user` supervises with `perm`: every queue for the Admin role, their own for a Supervisor, none otherwise."""
    if not supervises(user, perm):
        return Queue.objects.none()
    if user.has_perm("callbacks.all_queues"):
        return Queue.objects.all()
    return Queue.objects.filter(supervisors=user)


def require_supervisor(user, perm: str = "callbacks.supervise") -> None:
    if not supervises(user, perm):
        raise Refused(gettext("This needs the Supervisor role."))


def get_queue_for_supervisor(user, queue_id: int, perm: str = "callbacks.supervise") -> Queue:
    """The queue, when `user` supervises it; 404 when it does not exist, 403 when it is not theirs."""
    require_supervisor(user, perm)
    queue = Queue.objects.filter(pk=queue_id).first()
    if queue is None:
        raise DomainError(gettext("That queue does not exist."), status=404, code="not_found")
    if not queues_for(user, perm).filter(pk=queue.pk).exists():
        raise Refused(gettext("You do not supervise this queue."))
    return queue


class NotReadyReason(models.Model):
    name = models.CharField(max_length=60, unique=True)
    active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)
    system = models.CharField(
        max_length=20,
        choices=SystemReason.choices,
        blank=True,
        help_text="Set by Ringback itself (e.g. after a missed offer); agents cannot pick it.",
    )

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["system"], condition=~models.Q(system=""), name="one_reason_per_system_code")
        ]

    def __str__(self) -> str:
        return self.name


class DispositionCode(models.Model):
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.CASCADE, help_text="Empty: offered on every queue.")
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    note_required = models.BooleanField(default=False)

    class Meta:
        ordering = ["order", "label"]
        constraints = [models.UniqueConstraint(fields=["queue", "code"], name="disposition_code_unique_per_queue")]

    def __str__(self) -> str:
        return self.label


class PreviewField(models.Model):
    """One attached-data key an admin wants agents to see, and where."""

    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.CASCADE, help_text="Empty: shown for every queue.")
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True, help_text="Empty: both channels.")
    section = models.CharField(max_length=20, choices=PreviewSection.choices, default=PreviewSection.CALLBACK_INFO)
    key = models.CharField(max_length=64, help_text="Key in the callback's attached data, e.g. account_number.")
    label = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0)
    format = models.CharField(max_length=10, choices=FieldFormat.choices, default=FieldFormat.TEXT)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["section", "order", "label"]

    def __str__(self) -> str:
        return f"{self.label} ({self.key})"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class IdempotencyRecord(models.Model):
    """The answer given to a create with an Idempotency-Key, kept a day: the same key and body get it again."""

    api_client = models.ForeignKey("ApiClient", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body")
    status = models.PositiveSmallIntegerField(default=0, help_text="0 while the first request is still running")
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_client", "key"], name="one_answer_per_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.api_client_id}:{self.key}"


class ApiClient(models.Model):
    """An integration (IVR, website, mobile back end) allowed to create callbacks."""

    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True)
    token_prefix = models.CharField(max_length=12, editable=False, blank=True)
    token_hash = models.CharField(max_length=64, editable=False, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    requests_per_minute = models.PositiveIntegerField(
        default=120, help_text="Requests this client may make per minute before it is answered 429 (0: no limit)."
    )
    role = models.CharField(
        max_length=12,
        choices=[("integration", "Integration"), ("admin", "Admin")],
        default="integration",
        help_text="Admin: may also export and erase a person's data (/api/v1/privacy/…). Give it to few clients.",
    )

    def __str__(self) -> str:
        return self.name

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def issue_token(self) -> str:
        """Set a new token and return it; only its hash is kept."""
        token = "rb_" + secrets.token_urlsafe(32)
        self.token_prefix = token[:10]
        self.token_hash = hash_token(token)
        return token

    @classmethod
    def for_token(cls, token: str) -> "ApiClient | None":
        if not token:
            return None
        return CLIENT_BY_TOKEN.first(token_hash=hash_token(token))


# Every intake request reads its client so (compiled once per process).
CLIENT_BY_TOKEN = Prepared(
    lambda token_hash: ApiClient.objects.filter(token_hash=token_hash, active=True).order_by("pk")[:1], token_hash="text"
)
