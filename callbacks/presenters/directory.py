"""The directory's reads: contacts and their history, the Team Communicator, standard responses."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from ..enums import AgentStatus, Channel, HistoryKind
from ..errors import DomainError
from ..models import (
    Agent,
    AgentChannelStatus,
    CallbackRequest,
    Contact,
    FavoriteTarget,
    HistoryEvent,
    Queue,
    RoutingPoint,
    StandardResponse,
)
from ..phone import display_phone, normalize_phone


def contact_search(q: str, limit: int = 50):
    """Contacts by name, number or e-mail."""
    q = (q or "").strip()
    contacts = Contact.objects.prefetch_related("phones", "emails").order_by("last_name", "first_name", "pk")
    if q:
        digits = "".join(ch for ch in q if ch.isdigit())
        cond = Q(first_name__icontains=q) | Q(last_name__icontains=q) | Q(emails__address__icontains=q)
        parts = q.split()
        if len(parts) >= 2:
            cond |= Q(first_name__icontains=parts[0]) & Q(last_name__icontains=" ".join(parts[1:]))
        if len(digits) >= 3:
            cond |= Q(phones__number__contains=digits)
        contacts = contacts.filter(cond).distinct()
    return list(contacts[:limit])


def contact_history_parts(contact_id: int, limit: int = 200):
    """The newest ids of the contact's own events, and of the events of the contact's callbacks: two
    indexed lookups (contact_id; history_callback_at). One query with OR across both makes PostgreSQL
    scan the whole history (130 ms at 1,000,000 rows)."""
    own = HistoryEvent.objects.filter(contact_id=contact_id).order_by("-at", "-id").values_list("id", flat=True)[:limit]
    their_callbacks = CallbackRequest.objects.filter(contact_id=contact_id).values("id")
    of_callbacks = (
        HistoryEvent.objects.filter(callback_id__in=their_callbacks).order_by("-at", "-id").values_list("id", flat=True)[:limit]
    )
    return own, of_callbacks


def contact_history(contact: Contact, limit: int = 200) -> list:
    """Everything that happened to the contact and their callbacks, newest first."""
    own, of_callbacks = contact_history_parts(contact.pk, limit)
    ids = set(own) | set(of_callbacks)
    return list(HistoryEvent.objects.filter(id__in=ids).select_related("callback", "agent").order_by("-at", "-id")[:limit])


def recent_targets(agent_id: int):
    """Where the agent transferred, conferenced or consulted lately (the Team Communicator's Recent)."""
    return (
        HistoryEvent.objects.filter(
            agent_id=agent_id,
            kind__in=[HistoryKind.TRANSFER, HistoryKind.CONFERENCE, HistoryKind.CONSULT],
            data__has_key="target",
        )
        .order_by("-at")
        .values_list("data", flat=True)[:30]
    )


def response_values(callback: CallbackRequest, agent: Agent) -> dict[str, str]:
    contact = callback.contact
    first, _, last = (callback.customer_name or "").partition(" ")
    return {
        "first_name": (contact.first_name if contact else "") or first,
        "last_name": (contact.last_name if contact else "") or last,
        "customer_name": callback.customer_name or (contact.full_name if contact else ""),
        "agent_name": agent.display_name,
        "reference": callback.reference,
        "phone": display_phone(callback.phone_number),
        "queue": callback.queue.name,
    }


def response_search(q: str, values: dict[str, str] | None = None, limit: int = 20) -> list[tuple[Any, str]]:
    rows = StandardResponse.objects.filter(active=True).select_related("category")
    q = (q or "").strip()
    if q:
        rows = rows.filter(Q(title__icontains=q) | Q(body__icontains=q) | Q(category__name__icontains=q))
    return [(r, r.render(values or {})) for r in rows[:limit]]


def team_search(agent: Agent, q: str, limit: int = 6) -> dict[str, list]:
    """Team Communicator: agents (with live status), queues, routing points and contacts matching q."""
    q = (q or "").strip()
    out: dict[str, list] = {"agents": [], "queues": [], "routing_points": [], "contacts": [], "favorites": [], "recent": []}
    if not q:
        out["favorites"] = list(FavoriteTarget.objects.filter(agent=agent))
        seen: set[str] = set()
        for data in recent_targets(agent.pk):
            key = data.get("target")
            if key and key not in seen:
                seen.add(key)
                out["recent"].append(key)
            if len(out["recent"]) >= 5:
                break
        return out
    statuses = {
        s.agent_id: s
        for s in AgentChannelStatus.objects.filter(channel=Channel.VOICE, agent__display_name__icontains=q).select_related(
            "reason"
        )
    }
    for a in Agent.objects.filter(display_name__icontains=q).exclude(pk=agent.pk)[:limit]:
        row = statuses.get(a.pk)
        out["agents"].append((a, AgentStatus(row.status).label if row else "Logged Out"))
    out["queues"] = list(Queue.objects.filter(active=True, name__icontains=q)[:limit])
    out["routing_points"] = list(
        RoutingPoint.objects.filter(active=True).filter(Q(name__icontains=q) | Q(number__icontains=q))[:limit]
    )
    out["contacts"] = contact_search(q, limit=limit)
    out["numbers"] = []
    if sum(ch.isdigit() for ch in q) >= 6:
        try:
            out["numbers"] = [normalize_phone(q)]  # a typed number is a target too
        except DomainError:
            pass
    return out
