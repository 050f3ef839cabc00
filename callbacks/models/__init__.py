from .agents import Agent, AgentChannelStatus, agent_of
from .calendars import BusinessCalendar, CalendarException, OpeningHours
from .calls import Call, CallParty, Consultation, FavoriteTarget, RetryRule, RoutingPoint
from .config import ApiClient, DispositionCode, IdempotencyRecord, NotReadyReason, PreviewField, Queue
from .contacts import Contact, ContactEmail, ContactPhone
from .effects import Effect
from .responses import ResponseCategory, StandardResponse
from .work import CallbackRequest, HistoryEvent, Interaction, Note, Offer

__all__ = [
    "BusinessCalendar",
    "CalendarException",
    "OpeningHours",
    "Call",
    "CallParty",
    "Consultation",
    "FavoriteTarget",
    "RetryRule",
    "RoutingPoint",
    "Agent",
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
