"""The vocabulary of Ringback: channels, states, outcomes and history kinds.

The labels people read are marked for translation but stay English here (gettext_noop): they are also written into
history rows and messages, which must not depend on who was signed in. Pages translate them when they show them
(`{% translate cb.get_state_display %}`, `gettext(label)`).
"""

from django.db import models
from django.utils.translation import gettext_noop as _

from .channels import ROUTED

# The channels callbacks come in on and agents are Ready on, from the channel registry (`callbacks.channels`):
# Channel.VOICE == "voice", Channel.WEB_CALLBACK == "web_callback", and one more member per routed channel added there.
Channel = models.TextChoices("Channel", [(c.key.upper(), (c.key, c.label)) for c in ROUTED])


class Role(models.TextChoices):
    """The three roles (Django groups of these names: callbacks.roles)."""

    AGENT = "Agent", _("Agent")
    SUPERVISOR = "Supervisor", _("Supervisor")
    ADMIN = "Admin", _("Admin")


class AgentStatus(models.TextChoices):
    READY = "ready", _("Ready")
    NOT_READY = "not_ready", _("Not Ready")
    AFTER_CALL_WORK = "after_call_work", _("After Call Work")
    LOGGED_OUT = "logged_out", _("Logged Out")


class CallbackType(models.TextChoices):
    IMMEDIATE = "immediate", _("Immediate")
    DELAYED = "delayed", _("Delayed")
    SCHEDULED = "scheduled", _("Scheduled")
    DELAYED_PREVIEW = "delayed_preview", _("Delayed (Agent Preview)")


class Origin(models.TextChoices):
    WEB = "web", _("Website")
    MOBILE = "mobile", _("Mobile app")
    IVR = "ivr", _("IVR")
    API = "api", _("API")
    AGENT = "agent", _("Agent")


class CallbackState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    QUEUED = "queued", _("Queued")
    OFFERED = "offered", _("Offered")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


OPEN_CALLBACK_STATES = (
    CallbackState.SCHEDULED,
    CallbackState.QUEUED,
    CallbackState.OFFERED,
    CallbackState.IN_PROGRESS,
)


class OfferOutcome(models.TextChoices):
    OPEN = "open", _("Open")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    TIMED_OUT = "timed_out", _("Timed out")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    NOT_DELIVERED = "not_delivered", _("Not delivered")


class InteractionState(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class HistoryKind(models.TextChoices):
    CREATED = "created", _("Request received")
    DUPLICATE = "duplicate", _("Duplicate request merged")
    DUE = "due", _("Became due")
    OFFERED = "offered", _("Offered")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    TIMED_OUT = "timed_out", _("Offer timed out")
    WITHDRAWN = "withdrawn", _("Offer withdrawn")
    NOT_DELIVERED = "not_delivered", _("Offer not delivered")
    DONE = "done", _("Marked done")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")
    STATUS = "status", _("Agent status")
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    DTMF = "dtmf", _("DTMF")
    DISPOSITION = "disposition", _("Disposition")
    RESCHEDULED = "rescheduled", _("Rescheduled")
    RETRY = "retry", _("Retry scheduled")
    TRANSFER = "transfer", _("Transfer")
    CONFERENCE = "conference", _("Conference")
    CONSULT = "consult", _("Consultation")
    EMAIL = "email", _("E-mail")
    CONTACT = "contact", _("Contact")
    REMINDER = "reminder", _("Reminder")
    SWITCH = "switch", _("Switch command")
    EXPIRED = "expired", _("Expired")
    WEBHOOK = "webhook", _("Webhook")
    REASSIGNED = "reassigned", _("Reassigned")
    PRIORITY = "priority", _("Priority changed")
    PAUSED = "paused", _("Paused")
    RESUMED = "resumed", _("Resumed")
    TEXT = "text", _("Text message")
    ROUTED = "routed", _("Sent on by a routing rule")
    CONFIG = "config", _("Configuration change")
    RECONCILED = "reconciled", _("Repaired by reconciliation")
    MONITOR = "monitor", _("Monitoring")
    RECORDING = "recording", _("Recording")
    PRIVACY = "privacy", _("Personal data")


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
    DIALING = "dialing", _("Dialing")
    CONNECTED = "connected", _("Connected")
    ON_HOLD = "on_hold", _("On Hold")
    ENDED = "ended", _("Ended")


ACTIVE_CALL_STATES = (CallState.DIALING, CallState.CONNECTED, CallState.ON_HOLD)
MONITORED_STATES = (CallState.CONNECTED, CallState.ON_HOLD)  # a supervisor may listen in (Listen, Whisper, Barge)


class CallOutcome(models.TextChoices):
    NONE = "", "—"
    ANSWERED = "answered", _("Answered")
    BUSY = "busy", _("Busy")
    NO_ANSWER = "no_answer", _("No answer")
    ANSWERING_MACHINE = "answering_machine", _("Answering machine")
    FAILED = "failed", _("Failed")
    AGENT_HANGUP = "agent_hangup", _("Ended by agent")
    REMOTE_HANGUP = "remote_hangup", _("Ended by customer")
    TRANSFERRED = "transferred", _("Transferred")


# Dial outcomes that mean "we did not reach the customer": the retry policy applies.
DIAL_FAILURES = (CallOutcome.BUSY, CallOutcome.NO_ANSWER, CallOutcome.ANSWERING_MACHINE, CallOutcome.FAILED)


class RetryAction(models.TextChoices):
    RETRY = "retry", "Retry automatically after the delay"
    ASK_AGENT = "ask_agent", "Ask the agent"


class ConsultState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ACTIVE = "active", _("Active")
    DECLINED = "declined", _("Declined")
    ENDED = "ended", _("Ended")
    TRANSFERRED = "transferred", _("Transferred")
    CONFERENCED = "conferenced", _("Conferenced")


OPEN_CONSULT_STATES = (ConsultState.REQUESTED, ConsultState.ACTIVE)


class MonitorMode(models.TextChoices):
    """What a supervisor on an agent's call hears and who hears them (the agent's page mixes it)."""

    LISTEN = "listen", _("Listen")  # hears the customer and the agent; nobody hears them
    WHISPER = "whisper", _("Whisper")  # the agent hears them too; the customer does not
    BARGE = "barge", _("Barge")  # all three hear each other


class MonitorEnd(models.TextChoices):
    """Why a monitoring session ended."""

    LEFT = "left", _("The supervisor left")
    CALL_ENDED = "call_ended", _("The call ended")
    LOGGED_OUT = "logged_out", _("The supervisor logged out")
    LINE_ENDED = "line_ended", _("The supervisor's line ended")  # their board's call to the agent's page ended or failed
    BOARD_CLOSED = "board_closed", _("The supervisor's board closed")  # and did not come back within the grace


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


class DialMode(models.TextChoices):
    """Who is called first when a voice callback is due (per queue)."""

    AGENT_FIRST = "agent_first", _("Agent first: the agent accepts, then calls the customer")
    CUSTOMER_FIRST = "customer_first", _("Customer first: Ringback calls the customer, then offers them to an agent")


class CallbackEvent(models.TextChoices):
    """What can happen to a callback request: the edges of its lifecycle (see callbacks/callbackstate.py)."""

    REQUESTED = "requested", _("Requested for now")
    REQUESTED_LATER = "requested_later", _("Requested for later")
    DUE = "due", _("Became due")
    OFFER = "offer", _("Offered to an agent")
    ACCEPT = "accept", _("Accepted")
    REJECT = "reject", _("Rejected")
    TIME_OUT = "time_out", _("Offer timed out")
    NOT_DELIVERED = "not_delivered", _("Offer not delivered")
    WITHDRAW = "withdraw", _("Offer withdrawn")
    COMPLETE = "complete", _("Completed")
    FAIL = "fail", _("Failed")
    CANCEL = "cancel", _("Cancelled")
    RESCHEDULE = "reschedule", _("Rescheduled by the agent")
    RETRY = "retry", _("Automatic retry scheduled")
    TRANSFER_TO_AGENT = "transfer_to_agent", _("Transferred to an agent")
    TRANSFER_TO_QUEUE = "transfer_to_queue", _("Transferred to a queue")
    TRANSFER_OUT = "transfer_out", _("Transferred outside")
    MOVE = "move", _("Moved by the customer")
    EXPIRE = "expire", _("Expired unreached")
    DIAL_RETRY = "dial_retry", _("Not reached: retried later")
    DIAL_FAIL = "dial_fail", _("Not reached: attempts used")


class CloseReason(models.TextChoices):
    """How a callback ended, for reports and for integrators (GMS's `_callback_reason`)."""

    DONE = "done", _("Done")
    TRANSFERRED = "transferred", _("Transferred out")
    CANCELLED = "cancelled", _("Cancelled")
    CANCELLED_BY_ADMIN = "cancelled_by_admin", _("Cancelled by an administrator")
    EXPIRED = "expired", _("Expired unreached")
    FAILED = "failed", _("Failed")


class SystemReason(models.TextChoices):
    """Not Ready reasons Ringback sets by itself; agents cannot pick them."""

    MISSED_OFFER = "missed_offer", _("Missed offer")
    SUPERVISOR = "supervisor", _("Set by a supervisor")


class ClosingReason(models.TextChoices):
    """Why an interaction window closed. The system's own closings are announced to the agent."""

    MARKED_DONE = "marked_done", _("Marked done")
    RESCHEDULED = "rescheduled", _("Rescheduled")
    TRANSFERRED = "transferred", _("Transferred")
    RETRY_SCHEDULED = "retry_scheduled", _("Automatic retry scheduled")
    ATTEMPTS_EXHAUSTED = "attempts_exhausted", _("Attempts exhausted")
    RECONCILED = "reconciled", _("Closed by reconciliation")


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
    SMS = "sms", "Text message"
    MONITOR = "monitor", "Monitor"
    END_MONITOR = "end_monitor", "End monitoring"
    RECORD = "record", "Recording"  # bring the switch's recording of a call to what the desk asked (then store it)


SWITCH_COMMANDS = tuple(
    k for k in EffectKind if k not in (EffectKind.EMAIL, EffectKind.WEBHOOK, EffectKind.SMS, EffectKind.RECORD)
)


class RecordingPolicy(models.TextChoices):
    NEVER = "never", _("Never")
    ALWAYS = "always", _("Always")
    AGENT = "agent", _("Started by the agent")


class RecordingState(models.TextChoices):
    """A call's recording as the desk shows it (on the call), and a recording's life (on the recording)."""

    RECORDING = "recording", _("Recording")
    PAUSED = "paused", _("Recording paused")
    STORING = "storing", _("Being stored")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    DELETED = "deleted", _("Deleted")


class EffectStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class EmailState(models.TextChoices):
    """What the agent did with an e-mail interaction (stored). What it shows is `EmailStatus` (callbacks/emailstate.py)."""

    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent to the outbox"
    DISCARDED = "discarded", "Discarded"


class EmailStatus(models.TextChoices):
    """The status an e-mail interaction window shows: its state, and once sent, its outbox row's."""

    DRAFT = "draft", _("Draft")
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    DISCARDED = "discarded", _("Discarded")


class RuleCondition(models.TextChoices):
    """When a routing point's rule sends a callback to its queue (rules are tried in order; the first that holds wins)."""

    ALWAYS = "always", "Always"
    WAIT_UNDER = "wait_under", "While that queue's oldest wait is under N minutes (otherwise: overflow to the next rule)"
    TIME_OF_DAY = "time_of_day", "Between two times of day (in the routing point's zone)"


class Language(models.TextChoices):
    """The languages Ringback ships (Django's i18n; `locale/`)."""

    ENGLISH = "en", "English"
    FRENCH = "fr", "Français"
    SPANISH = "es", "Español"
