"""Small factories and personas for the tests."""

from datetime import datetime

from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

from callbacks import lifecycle
from callbacks.dispatcher import run_ready_tasks
from callbacks.enums import AgentStatus, Channel
from callbacks.lifecycle import CallbackInput
from callbacks.models import (
    Agent,
    AgentChannelStatus,
    ApiClient,
    BusinessCalendar,
    CalendarException,
    CallbackRequest,
    OpeningHours,
    Queue,
)

PASSWORD = "secret-pass-123"


def make_queue(slug: str = "billing", **kw) -> Queue:
    kw.setdefault("name", slug.title())
    return Queue.objects.create(slug=slug, **kw)


def make_calendar(
    name: str = "Office", *, zone: str = "Europe/Paris", hours=None, slot_minutes: int = 15, capacity: int = 10, exceptions=()
) -> BusinessCalendar:
    """A calendar; `hours` maps weekday (0 = Monday) to (opens, closes) ranges as "HH:MM" strings."""
    calendar = BusinessCalendar.objects.create(name=name, timezone=zone, slot_minutes=slot_minutes, slot_capacity=capacity)
    for weekday, ranges in (hours or {}).items():
        for opens, closes in ranges:
            OpeningHours.objects.create(calendar=calendar, weekday=weekday, opens=opens, closes=closes)
    for day, opens, closes in exceptions:
        CalendarException.objects.create(
            calendar=calendar, date=day, name="Exception", closed=opens is None, opens=opens, closes=closes
        )
    return calendar


def make_agent(username: str, *queues: Queue, tz: str = "Europe/Paris") -> Agent:
    user = get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD)
    agent = Agent.objects.create(user=user, display_name=username.title(), timezone=tz)
    agent.queues.add(*queues)
    return agent


def set_ready(agent: Agent, channel: str = Channel.VOICE) -> AgentChannelStatus:
    return lifecycle.do_set_status(user=agent.user, channel=channel, status=AgentStatus.READY)


def make_callback(queue: Queue | str = "billing", phone: str = "+33612345678", **kw) -> CallbackRequest:
    slug = queue.slug if isinstance(queue, Queue) else queue
    callback, _ = lifecycle.do_create_callback(request=CallbackInput(queue=slug, phone_number=phone, **kw))
    return callback


def numbers(n: int) -> list[str]:
    """n distinct valid French mobile numbers."""
    return [f"+336{12000000 + i:08d}" for i in range(n)]


def make_api_client(name: str = "IVR") -> tuple[ApiClient, str]:
    client = ApiClient(name=name)
    token = client.issue_token()
    client.save()
    return client, token


def shown(offer):
    """The agent's page showed the offer (it acknowledges over the websocket): its countdown starts."""
    return lifecycle.do_acknowledge_offer(agent_id=offer.agent_id, offer_id=offer.pk)


def email_contact(agent: Agent, interaction, *, to: str, subject: str = "Hello", body: str = "We called."):
    """Party Action Menu → "E-mail <to>", then Send: an e-mail interaction as a test arranges it."""
    email = lifecycle.do_open_email(user=agent.user, interaction_id=interaction.pk, to=to)
    return lifecycle.do_send_email(user=agent.user, email_id=email.pk, to=to, subject=subject, body=body)


def worker() -> int:
    """The task worker runs what is due (durable side effects: switch commands, e-mail)."""
    return run_ready_tasks()


def refreshed(obj):
    obj.refresh_from_db()
    return obj


def database_url() -> str:
    """The test database as a URL, for processes started by a test (a server, a worker, a dying client)."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    return f"postgres://{user}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def session_key_for(user) -> str:
    """A logged-in session, stored the way django.contrib.auth.login stores it, for a real client's cookie."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session["_auth_user_backend"] = "callbacks.auth.AgentBackend"
    session.create()
    return session.session_key


def database_text() -> str:
    """The whole database as text, but the simulated switch's own tables (they stand for the telephone switch,
    outside Ringback)."""
    connection.ensure_connection()  # the task worker may have closed it
    if connection.vendor == "sqlite":
        return "\n".join(line for line in connection.connection.iterdump() if "switchsim_" not in line)
    lines = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if not table.startswith("switchsim_"):
                cursor.execute(f'SELECT t::text FROM "{table}" t')
                lines += [row[0] for row in cursor.fetchall()]
    return "\n".join(lines)
