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
    NOT_DELIVERED = "not_delivered", "Not delivered"


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
    NOT_DELIVERED = "not_delivered", "Offer not delivered"
    DONE = "done", "Marked done"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"
    STATUS = "status", "Agent status"
    NOTE = "note", "Note"
    CALL = "call", "Call"
    DTMF = "dtmf", "DTMF"
    DISPOSITION = "disposition", "Disposition"
    RESCHEDULED = "rescheduled", "Rescheduled"
    RETRY = "retry", "Retry scheduled"
    TRANSFER = "transfer", "Transfer"
    CONFERENCE = "conference", "Conference"
    CONSULT = "consult", "Consultation"
    EMAIL = "email", "E-mail"
    CONTACT = "contact", "Contact"
    REMINDER = "reminder", "Reminder"
    SWITCH = "switch", "Switch command"
    EXPIRED = "expired", "Expired"
    WEBHOOK = "webhook", "Webhook"
    REASSIGNED = "reassigned", "Reassigned"
    PRIORITY = "priority", "Priority changed"
    ROUTED = "routed", "Sent on by a routing rule"
    CONFIG = "config", "Configuration change"
    RECONCILED = "reconciled", "Repaired by reconciliation"


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


class CallState(models.TextChoices):
    DIALING = "dialing", "Dialing"
    CONNECTED = "connected", "Connected"
    ON_HOLD = "on_hold", "On Hold"
    ENDED = "ended", "Ended"


ACTIVE_CALL_STATES = (CallState.DIALING, CallState.CONNECTED, CallState.ON_HOLD)


class CallOutcome(models.TextChoices):
    NONE = "", "—"
    ANSWERED = "answered", "Answered"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no_answer", "No answer"
    ANSWERING_MACHINE = "answering_machine", "Answering machine"
    FAILED = "failed", "Failed"
    AGENT_HANGUP = "agent_hangup", "Ended by agent"
    REMOTE_HANGUP = "remote_hangup", "Ended by customer"
    TRANSFERRED = "transferred", "Transferred"


# Dial outcomes that mean "we did not reach the customer": the retry policy applies.
DIAL_FAILURES = (CallOutcome.BUSY, CallOutcome.NO_ANSWER, CallOutcome.ANSWERING_MACHINE, CallOutcome.FAILED)


class RetryAction(models.TextChoices):
    RETRY = "retry", "Retry automatically after the delay"
    ASK_AGENT = "ask_agent", "Ask the agent"


class ConsultState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    ACTIVE = "active", "Active"
    DECLINED = "declined", "Declined"
    ENDED = "ended", "Ended"
    TRANSFERRED = "transferred", "Transferred"
    CONFERENCED = "conferenced", "Conferenced"


OPEN_CONSULT_STATES = (ConsultState.REQUESTED, ConsultState.ACTIVE)


class PartyState(models.TextChoices):
    """A conference party: asked (an agent's request on their desk, or a number ringing), then in the call or not."""

    RINGING = "ringing", "Asked, waiting for an answer"
    JOINED = "joined", "In the conference"
    DECLINED = "declined", "Declined"
    NOT_ANSWERED = "not_answered", "Not answered"
    FAILED = "failed", "Not reached"
    LEFT = "left", "Left"


class AcceptAction(models.TextChoices):
    """What Accept does on a voice callback (per queue). Web Callback always opens its preview first."""

    PREVIEW = "preview", "Preview: the window opens Ready to Call and the agent clicks Call"
    DIAL = "dial", "Dial at once: Accept opens the window and places the call"


class CallbackEvent(models.TextChoices):
    """What can happen to a callback request: the edges of its lifecycle (see callbacks/callbackstate.py)."""

    REQUESTED = "requested", "Requested for now"
    REQUESTED_LATER = "requested_later", "Requested for later"
    DUE = "due", "Became due"
    OFFER = "offer", "Offered to an agent"
    ACCEPT = "accept", "Accepted"
    REJECT = "reject", "Rejected"
    TIME_OUT = "time_out", "Offer timed out"
    NOT_DELIVERED = "not_delivered", "Offer not delivered"
    WITHDRAW = "withdraw", "Offer withdrawn"
    COMPLETE = "complete", "Completed"
    FAIL = "fail", "Failed"
    CANCEL = "cancel", "Cancelled"
    RESCHEDULE = "reschedule", "Rescheduled by the agent"
    RETRY = "retry", "Automatic retry scheduled"
    TRANSFER_TO_AGENT = "transfer_to_agent", "Transferred to an agent"
    TRANSFER_TO_QUEUE = "transfer_to_queue", "Transferred to a queue"
    TRANSFER_OUT = "transfer_out", "Transferred outside"
    MOVE = "move", "Moved by the customer"
    EXPIRE = "expire", "Expired unreached"


class CloseReason(models.TextChoices):
    """How a callback ended, for reports and for integrators (GMS's `_callback_reason`)."""

    DONE = "done", "Done"
    TRANSFERRED = "transferred", "Transferred out"
    CANCELLED = "cancelled", "Cancelled"
    CANCELLED_BY_ADMIN = "cancelled_by_admin", "Cancelled by an administrator"
    EXPIRED = "expired", "Expired unreached"
    FAILED = "failed", "Failed"


class SystemReason(models.TextChoices):
    """Not Ready reasons Ringback sets by itself; agents cannot pick them."""

    MISSED_OFFER = "missed_offer", "Missed offer"
    SUPERVISOR = "supervisor", "Set by a supervisor"


class ClosingReason(models.TextChoices):
    """Why an interaction window closed. The system's own closings are announced to the agent."""

    MARKED_DONE = "marked_done", "Marked done"
    RESCHEDULED = "rescheduled", "Rescheduled"
    TRANSFERRED = "transferred", "Transferred"
    RETRY_SCHEDULED = "retry_scheduled", "Automatic retry scheduled"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted", "Attempts exhausted"
    RECONCILED = "reconciled", "Closed by reconciliation"


# Closings the system made by itself: the agent sees a notice saying why.
SYSTEM_CLOSINGS = (ClosingReason.RETRY_SCHEDULED, ClosingReason.ATTEMPTS_EXHAUSTED, ClosingReason.RECONCILED)


class EffectKind(models.TextChoices):
    """Side effects outside the database, run by the task worker."""

    DIAL = "dial", "Dial"
    HANG_UP = "hang_up", "Hang up"
    HOLD = "hold", "Hold"
    RESUME = "resume", "Resume"
    SEND_DTMF = "send_dtmf", "Send DTMF"
    TRANSFER = "transfer", "Transfer"
    CONFERENCE = "conference", "Conference"
    CONSULT = "consult", "Consult"
    END_CONSULT = "end_consult", "End consultation"
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


SWITCH_COMMANDS = tuple(k for k in EffectKind if k not in (EffectKind.EMAIL, EffectKind.WEBHOOK))


class EffectStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RuleCondition(models.TextChoices):
    """When a routing point's rule sends a callback to its queue (rules are tried in order; the first that holds wins)."""

    ALWAYS = "always", "Always"
    WAIT_UNDER = "wait_under", "While that queue's oldest wait is under N minutes (otherwise: overflow to the next rule)"
    TIME_OF_DAY = "time_of_day", "Between two times of day (in the routing point's zone)"
