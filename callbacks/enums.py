"""The vocabulary of Ringback: channels, states, outcomes and history kinds."""

from django.db import models


class Channel(models.TextChoices):
    VOICE = "voice", "Voice"
    WEB_CALLBACK = "web_callback", "Web Callback"


class AgentStatus(models.TextChoices):
    READY = "ready", "Ready"
    NOT_READY = "not_ready", "Not Ready"
    AFTER_CALL_WORK = "after_call_work", "After Call Work"
    LOGGED_OUT = "logged_out", "Logged Out"


class CallbackType(models.TextChoices):
    IMMEDIATE = "immediate", "Immediate"
    DELAYED = "delayed", "Delayed"
    SCHEDULED = "scheduled", "Scheduled"
    DELAYED_PREVIEW = "delayed_preview", "Delayed (Agent Preview)"


class Origin(models.TextChoices):
    WEB = "web", "Website"
    MOBILE = "mobile", "Mobile app"
    IVR = "ivr", "IVR"
    API = "api", "API"
    AGENT = "agent", "Agent"


class CallbackState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    QUEUED = "queued", "Queued"
    OFFERED = "offered", "Offered"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


OPEN_CALLBACK_STATES = (
    CallbackState.SCHEDULED,
    CallbackState.QUEUED,
    CallbackState.OFFERED,
    CallbackState.IN_PROGRESS,
)


class OfferOutcome(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    TIMED_OUT = "timed_out", "Timed out"
    WITHDRAWN = "withdrawn", "Withdrawn"


class InteractionState(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"


class HistoryKind(models.TextChoices):
    CREATED = "created", "Request received"
    DUPLICATE = "duplicate", "Duplicate request merged"
    DUE = "due", "Became due"
    OFFERED = "offered", "Offered"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    TIMED_OUT = "timed_out", "Offer timed out"
    WITHDRAWN = "withdrawn", "Offer withdrawn"
    DONE = "done", "Marked done"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"
    STATUS = "status", "Agent status"
    NOTE = "note", "Note"


class PreviewSection(models.TextChoices):
    NOTIFICATION = "notification", "Notification preview (before Accept)"
    CALLBACK_INFO = "callback_info", "Callback Information"
    CASE_INFO = "case_info", "Case Information"


class FieldFormat(models.TextChoices):
    TEXT = "text", "Text"
    DATE = "date", "Date"
    DATETIME = "datetime", "Date and time"
    MONEY = "money", "Money"
    YES_NO = "yes_no", "Yes / No"
