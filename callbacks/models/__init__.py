from .agents import (
    Agent,
    AgentChannelStatus,
    agent_for_user,
    agent_of,
    agents_for,
    channels_of,
    channels_worked,
    get_agent_for_supervisor,
    may_work,
    person_name,
)
from .analytics import QueueHour, ReportSubscription, RollupMark
from .calendars import BusinessCalendar, CalendarException, OpeningHours
from .calls import Call, CallParty, Consultation, FavoriteTarget, LineReport, MonitoringSession, RetryRule
from .config import (
    ApiClient,
    DispositionCode,
    IdempotencyRecord,
    NotReadyReason,
    PreviewField,
    Queue,
    get_queue_for_supervisor,
    queues_for,
    require_supervisor,
    supervises,
)
from .contacts import Contact, ContactEmail, ContactPhone
from .effects import Effect
from .emails import EmailInteraction
from .recordings import CallRecording, recordings_storage
from .responses import ResponseCategory, StandardResponse
from .retention import RetentionPolicy
from .routing import RoutingPoint, RoutingRule
from .texts import NumberCheck, SmsOptOut, TextInteraction, TextMessage
from .voice import EntryNumber, VoiceOutcome, VoiceSession
from .webhooks import WEBHOOK_EVENTS, WebhookDelivery, WebhookSubscription
from .work import (
    AppendOnlyError,
    CallbackRequest,
    HistoryEvent,
    Interaction,
    Note,
    Offer,
    callbacks_for,
    get_callback_for_supervisor,
)

__all__ = [
    "QueueHour",
    "RollupMark",
    "ReportSubscription",
    "RetentionPolicy",
    "CallRecording",
    "recordings_storage",
    "MonitoringSession",
    "NumberCheck",
    "SmsOptOut",
    "TextInteraction",
    "TextMessage",
    "WEBHOOK_EVENTS",
    "WebhookDelivery",
    "WebhookSubscription",
    "EntryNumber",
    "VoiceOutcome",
    "VoiceSession",
    "EmailInteraction",
    "LineReport",
    "BusinessCalendar",
    "CalendarException",
    "OpeningHours",
    "Call",
    "CallParty",
    "Consultation",
    "FavoriteTarget",
    "RetryRule",
    "RoutingPoint",
    "RoutingRule",
    "AppendOnlyError",
    "agents_for",
    "channels_of",
    "channels_worked",
    "callbacks_for",
    "get_agent_for_supervisor",
    "get_callback_for_supervisor",
    "get_queue_for_supervisor",
    "may_work",
    "person_name",
    "queues_for",
    "require_supervisor",
    "supervises",
    "Agent",
    "agent_for_user",
    "agent_of",
    "AgentChannelStatus",
    "ApiClient",
    "CallbackRequest",
    "Contact",
    "ContactEmail",
    "ContactPhone",
    "DispositionCode",
    "Effect",
    "HistoryEvent",
    "IdempotencyRecord",
    "Interaction",
    "Note",
    "NotReadyReason",
    "Offer",
    "PreviewField",
    "Queue",
    "ResponseCategory",
    "StandardResponse",
]
